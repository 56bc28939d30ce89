//! `kfp validate FILE...`

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Compiled pipeline YAML files.
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("not implemented yet")
}
