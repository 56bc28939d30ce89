//! The user's own binary: the compile CLI for their pipelines, and the container entrypoint
//! of their components.
//!
//! ```ignore
//! // src/bin/compile.rs
//! fn main() -> std::process::ExitCode { kfp::app::main(my_crate::PIPELINES) }
//! ```

mod compile;
mod registry;

pub use compile::{CompileArgs, compile_all};
pub use registry::{Registry, RegistryError};

use crate::Pipeline;
use std::process::ExitCode;

/// Runs the binary: with `--executor-input` it executes one component as the KFP launcher
/// asks; otherwise it is the compile CLI (`--out`, `--pipeline`, `--list`, `--check`).
pub fn main(pipelines: &[&dyn Pipeline]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a.starts_with("--executor-input") || a.starts_with("--executor_input")) {
        return match Registry::from_pipelines(pipelines) {
            Ok(registry) => kfp_runtime::executor::executor_main(args, &registry.entries()),
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    compile::main(pipelines, std::env::args())
}
