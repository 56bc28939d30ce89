//! The general `kfp` command line: everything that works on files rather than on the user's code.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod validate;

#[derive(Parser)]
#[command(name = "kfp", version, about = "Kubeflow Pipelines in Rust: validate, run locally, tune, upload")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Structural checks of compiled IR YAML files.
    Validate(validate::Args),
}

/// Entry point of the `kfp` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
