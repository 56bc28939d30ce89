//! `LocalError`: why a local run could not start or did not succeed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{}: {cause}", path.display())]
    Spec { path: PathBuf, cause: String },
    #[error("pipeline argument '{name}': {cause}")]
    Argument { name: String, cause: String },
    /// A task that cannot be started: bad wiring, a missing executor, an unsupported construct.
    #[error("task '{task}': {cause}")]
    Task { task: String, cause: String },
    /// A task that ran and failed (after its retries); `log_tail` is the end of its log.
    #[error("task '{task}' failed: {cause}\n--- last lines of {} ---\n{log_tail}", log.display())]
    TaskFailed {
        task: String,
        cause: String,
        log: PathBuf,
        log_tail: String,
    },
    /// A DAG task whose inner task failed; shows the inner failure's first line.
    #[error("{cause}")]
    Dag { task: String, cause: String },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl LocalError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn task(task: &str, cause: impl Into<String>) -> Self {
        Self::Task {
            task: task.to_owned(),
            cause: cause.into(),
        }
    }
}
