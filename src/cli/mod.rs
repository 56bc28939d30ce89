//! The general `kfp` command line: everything that works on files rather than on the user's code.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod validate;
mod tune;
mod local;
mod connection;
mod experiment;
mod pipeline;
mod run;
mod train;

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
    /// Drive a hyperparameter study in a journal file (ask, tell, best).
    Tune(tune::Args),
    /// Run a compiled pipeline on this machine.
    Local(local::Args),
    /// Upload compiled pipelines and pipeline versions to a KFP server.
    Pipeline(pipeline::Args),
    /// Submit, inspect and wait for runs on a KFP server.
    Run(run::Args),
    /// Create and list experiments on a KFP server.
    Experiment(experiment::Args),
    /// torchrun: start N workers of a program with torchrun's environment and fail if one fails.
    Train(train::Args),
}

/// Entry point of the `kfp` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Local(args) => local::run(args),
        Command::Pipeline(args) => pipeline::run(args),
        Command::Run(args) => run::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Train(args) => train::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
