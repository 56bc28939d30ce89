//! `kfp validate FILE...`: the project's structural checks of compiled IR files.

use kfp_compiler::compile::{read_yaml, validate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Compiled pipeline YAML files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Prints `ok FILE` or one `FILE: path: problem` line per problem; fails if any file has one.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in &args.files {
        let problems = match std::fs::read_to_string(file) {
            Err(e) => vec![format!("cannot read: {e}")],
            Ok(text) => match read_yaml(&text) {
                Err(e) => vec![format!("not a pipeline spec: {e}")],
                Ok(spec) => validate(&spec).err().unwrap_or_default().iter().map(ToString::to_string).collect(),
            },
        };
        if problems.is_empty() {
            println!("ok {}", file.display());
        }
        for problem in &problems {
            eprintln!("{}: {problem}", file.display());
        }
        failed |= !problems.is_empty();
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
