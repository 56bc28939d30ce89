//! `kfp local run FILE.yaml [key=value...]`: runs a compiled pipeline on this machine.

use kfp_runtime::local::{
    BinaryMap, LocalRunner, RunOptions, load_pipeline, load_platform, parse_arguments,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(clap::Subcommand)]
enum LocalCommand {
    /// Run a compiled pipeline: tasks as local processes, outputs under the pipeline root.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The compiled pipeline (the IR YAML that would be uploaded).
    file: PathBuf,
    /// Pipeline arguments as key=value, typed by the pipeline's inputs (lists and structs as JSON).
    arguments: Vec<String>,
    /// Local pipeline root: runs are recorded in ROOT/<pipeline>/<run-id>/, the cache index in ROOT/.kfp-cache/.
    #[arg(long, default_value = "kfp-local-runs")]
    root: PathBuf,
    /// Most executor processes running at once (default: the number of CPUs).
    #[arg(long)]
    parallelism: Option<usize>,
    /// Run every task, ignoring (and not recording) cached outputs.
    #[arg(long)]
    no_cache: bool,
    /// Local binary for the executors' command: IMAGE_PATH=LOCAL_PATH for one command path, or
    /// LOCAL_PATH for all. Without it, command[0] is used if it exists here, else a file of the
    /// same name next to this program or on PATH.
    #[arg(long = "binary", value_name = "[IMAGE_PATH=]LOCAL_PATH")]
    binaries: Vec<String>,
    /// Secrets for the pipeline's Kubernetes settings, as files DIR/<secret>/<key>
    /// (default: $KFP_LOCAL_SECRETS).
    #[arg(long, value_name = "DIR")]
    secrets: Option<PathBuf>,
    /// Config maps for the pipeline's Kubernetes settings, as files DIR/<config map>/<key>
    /// (default: $KFP_LOCAL_CONFIG_MAPS).
    #[arg(long, value_name = "DIR")]
    config_maps: Option<PathBuf>,
    /// The run id (default: run-<UTC timestamp>).
    #[arg(long)]
    run_id: Option<String>,
    /// No progress lines; only the outputs (or the error).
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let LocalCommand::Run(args) = args.command;
    let spec = load_pipeline(&args.file)?;
    let mut options = RunOptions::new(args.root);
    options.arguments = parse_arguments(&spec.root.input_definitions, &args.arguments)?;
    options.binaries = BinaryMap::parse(&args.binaries).map_err(anyhow::Error::msg)?;
    options.cache = !args.no_cache;
    options.run_id = args.run_id;
    options.quiet = args.quiet;
    options.platform = load_platform(&args.file)?;
    if let Some(dir) = args.secrets {
        options.secrets_dir = Some(dir);
    }
    if let Some(dir) = args.config_maps {
        options.config_maps_dir = Some(dir);
    }
    if let Some(parallelism) = args.parallelism {
        anyhow::ensure!(parallelism > 0, "--parallelism must be at least 1");
        options.parallelism = parallelism;
    }
    let summary = LocalRunner::new(spec, options).run()?;
    for (name, value) in &summary.outputs.parameters {
        println!("{name} = {value}");
    }
    for (name, artifacts) in &summary.outputs.artifacts {
        for artifact in artifacts {
            println!("{name} = {}", artifact.uri);
        }
    }
    println!("run folder: {}", summary.run_dir.display());
    Ok(ExitCode::SUCCESS)
}
