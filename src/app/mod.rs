//! The user's own binary: the compile CLI for their pipelines, and the container entrypoint
//! of their components.
//!
//! ```ignore
//! // src/bin/compile.rs
//! fn main() -> std::process::ExitCode { kfp::app::main(my_crate::PIPELINES) }
//! ```

mod compile;
mod deploy;
mod distributed;
mod katib;
mod registry;

pub use compile::{CompileArgs, compile_all, compile_deploy};
pub use deploy::DeployArgs;
pub use katib::{KatibStudy, TRIAL_FLAG, trial_target};
pub use registry::{Registry, RegistryError};

use crate::Pipeline;
use std::process::ExitCode;

/// Runs the binary: with `--executor-input` it executes one component as the KFP launcher
/// asks (after `--launch-pytorchjob`, it runs the component as a PyTorchJob instead and waits
/// for it); otherwise it is the compile CLI (`--out`, `--pipeline`, `--list`, `--check`,
/// `--pytorchjob`, `--dockerfile`).
pub fn main(pipelines: &[&dyn Pipeline]) -> ExitCode {
    main_with_katib(pipelines, &[])
}

/// `main`, plus searches that run on Katib: the compile CLI also writes their Experiments, and
/// `--katib-trial NAME` runs one of their trials.
pub fn main_with_katib(pipelines: &[&dyn Pipeline], studies: &[KatibStudy]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(TRIAL_FLAG) {
        return katib::run_trial(studies, &args);
    }
    if args.first().map(String::as_str) == Some(kfp_compiler::compile::LAUNCH_FLAG) {
        return distributed::launch_pytorchjob(&args);
    }
    if args.iter().any(|a| a.starts_with("--executor-input") || a.starts_with("--executor_input")) {
        return match Registry::from_pipelines(pipelines) {
            Ok(registry) => {
                if let Err(error) = distributed::fetch_inputs(&args) {
                    eprintln!("error: {error}");
                    return ExitCode::FAILURE;
                }
                let status = kfp_runtime::executor::executor_main(args.clone(), &registry.entries());
                if status == ExitCode::SUCCESS { distributed::relay_outputs(&args) } else { status }
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    compile::main(pipelines, studies, std::env::args())
}
