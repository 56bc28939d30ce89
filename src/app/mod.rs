//! The user's own binary: the compile CLI for their pipelines, and the container entrypoint
//! of their components.
//!
//! ```ignore
//! // src/bin/compile.rs
//! fn main() -> std::process::ExitCode { kfp::app::main(my_crate::PIPELINES) }
//! ```

mod compile;
mod deploy;
mod registry;

pub use compile::{CompileArgs, compile_all, compile_deploy};
pub use deploy::DeployArgs;
pub use registry::{Registry, RegistryError};

use crate::Pipeline;
use std::process::ExitCode;

/// Runs the binary: with `--executor-input` it executes one component as the KFP launcher
/// asks (after `--launch-pytorchjob`, it runs the component as a PyTorchJob instead and waits
/// for it); otherwise it is the compile CLI (`--out`, `--pipeline`, `--list`, `--check`,
/// `--pytorchjob`, `--dockerfile`).
pub fn main(pipelines: &[&dyn Pipeline]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(kfp_compiler::compile::LAUNCH_FLAG) {
        return launch_pytorchjob(&args);
    }
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

#[cfg(feature = "launcher")]
fn launch_pytorchjob(args: &[String]) -> ExitCode {
    kfp_k8s::launcher_main(args)
}

#[cfg(not(feature = "launcher"))]
fn launch_pytorchjob(_args: &[String]) -> ExitCode {
    eprintln!("error: this binary was built without kfp's `launcher` feature, so it cannot run a distributed component; enable it in Cargo.toml: kfp = {{ ..., features = [\"launcher\"] }}");
    ExitCode::FAILURE
}
