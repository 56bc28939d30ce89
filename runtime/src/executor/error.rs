//! `ExecutorError`: everything that stops a component, as one line naming the component and
//! the culprit, e.g. `component 'train': input 'epochs': expected an integer, got 3.5`.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The command line did not carry `--executor-input JSON --function-to-execute NAME`.
    #[error("executor arguments: {0}")]
    Usage(String),
    #[error("component '{component}': malformed executor input: {cause}")]
    MalformedInput { component: String, cause: String },
    #[error("component '{component}': input '{input}': missing (not in the executor input)")]
    MissingInput { component: String, input: String },
    #[error("component '{component}': input '{input}': {cause}")]
    InvalidInput {
        component: String,
        input: String,
        cause: String,
    },
    #[error("component '{component}': output '{output}': {cause}")]
    InvalidOutput {
        component: String,
        output: String,
        cause: String,
    },
    #[error("component '{component}' failed: {cause}")]
    Failed { component: String, cause: String },
    #[error("component '{component}' panicked: {message}")]
    Panicked { component: String, message: String },
    #[error("component '{component}': {action} {}: {source}", path.display())]
    Io {
        component: String,
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}
