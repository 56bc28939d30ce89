//! `kfp run create|get|list`: submit pipeline runs, optionally waiting for the outcome.

use super::connection::{Connection, ListFlags, note_next_page};
use kfp_client::api::Run;
use kfp_client::output::{self, Format};
use kfp_client::workflow::{self, RunRequest, RunSource};
use kfp_client::{Client, PipelineFile, endpoints};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct WaitFlags {
    /// Wait until the run reaches a final state; exit non-zero if it FAILED or was CANCELED.
    #[arg(long, short = 'w')]
    wait: bool,
    /// Give up waiting after this many seconds (implies --wait).
    #[arg(long, short = 't', value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Seconds between two status polls while waiting.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    poll_interval: f64,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Submit a run of a compiled pipeline file or of an uploaded pipeline.
    Create {
        /// Experiment name; created when it does not exist.
        #[arg(long, short = 'e')]
        experiment: String,
        /// Run name (default: the experiment name).
        #[arg(long, short = 'r')]
        run_name: Option<String>,
        /// Run an uploaded pipeline by ID instead of a file.
        #[arg(long, short = 'p', conflicts_with = "pipeline_name")]
        pipeline_id: Option<String>,
        /// Run an uploaded pipeline by name instead of a file.
        #[arg(long, short = 'n')]
        pipeline_name: Option<String>,
        /// Version of the uploaded pipeline (default: its newest).
        #[arg(long, short = 'v')]
        version_id: Option<String>,
        #[command(flatten)]
        wait: WaitFlags,
        /// [FILE.yaml] then pipeline parameters as key=value.
        #[arg(value_name = "FILE.yaml | key=value")]
        args: Vec<String>,
    },
    /// Show one run.
    Get {
        run_id: String,
        #[command(flatten)]
        wait: WaitFlags,
    },
    /// List runs.
    List {
        /// Only runs of this experiment.
        #[arg(long, short = 'e')]
        experiment_id: Option<String>,
        #[command(flatten)]
        list: ListFlags,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.connection.format();
    match args.command {
        Command::Create {
            experiment,
            run_name,
            pipeline_id,
            pipeline_name,
            version_id,
            wait,
            args: positional,
        } => {
            let (file, arguments) = split_file(&positional)?;
            let pipeline = file.map(|f| PipelineFile::read(Path::new(f))).transpose()?;
            let client = args.connection.client()?;
            let source = match (pipeline.as_ref(), pipeline_id, pipeline_name) {
                (Some(file), None, None) => {
                    anyhow::ensure!(
                        version_id.is_none(),
                        "--version-id needs --pipeline-id or --pipeline-name, not a file"
                    );
                    RunSource::File(file)
                }
                (None, Some(id), None) => RunSource::Version {
                    pipeline_id: id,
                    version_id,
                },
                (None, None, Some(name)) => RunSource::Version {
                    pipeline_id: workflow::pipeline_id_by_name(&client, &name)?,
                    version_id,
                },
                (None, None, None) => {
                    anyhow::bail!("give a pipeline FILE.yaml, --pipeline-id or --pipeline-name")
                }
                _ => anyhow::bail!(
                    "give either a pipeline FILE.yaml or --pipeline-id/--pipeline-name, not both"
                ),
            };
            let display_name = run_name.unwrap_or_else(|| experiment.clone());
            let request = RunRequest {
                experiment: &experiment,
                display_name: &display_name,
                source,
                arguments,
            };
            let run = workflow::submit_run(&client, request)?;
            finish(&client, format, run, &wait)
        }
        Command::Get { run_id, wait } => {
            let client = args.connection.client()?;
            let run = endpoints::get_run(&client, &run_id)?;
            finish(&client, format, run, &wait)
        }
        Command::List {
            experiment_id,
            list,
        } => {
            let client = args.connection.client()?;
            let listed = endpoints::list_runs(&client, experiment_id.as_deref(), &list.options())?;
            print!("{}", output::render_list(format, &listed.runs));
            note_next_page(format, listed.next_page_token.as_deref());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The first positional argument without `=` is the pipeline file; the rest are parameters.
fn split_file(positional: &[String]) -> anyhow::Result<(Option<&str>, &[String])> {
    match positional.split_first() {
        Some((first, rest)) if !first.contains('=') => {
            if let Some(extra) = rest.iter().find(|a| !a.contains('=')) {
                anyhow::bail!("unexpected argument {extra:?}: pipeline parameters are key=value");
            }
            Ok((Some(first), rest))
        }
        _ => {
            if let Some(stray) = positional.iter().find(|a| !a.contains('=')) {
                anyhow::bail!(
                    "unexpected argument {stray:?}: the pipeline file comes before the key=value parameters"
                );
            }
            Ok((None, positional))
        }
    }
}

/// Prints the run, after waiting for a final state when asked; FAILED/CANCELED exit with 1.
fn finish(client: &Client, format: Format, run: Run, wait: &WaitFlags) -> anyhow::Result<ExitCode> {
    if !(wait.wait || wait.timeout.is_some()) {
        print!("{}", output::render_one(format, &run));
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::ensure!(
        wait.poll_interval.is_finite() && wait.poll_interval > 0.0,
        "--poll-interval must be a positive number of seconds, got {}",
        wait.poll_interval
    );
    let interval = Duration::from_secs_f64(wait.poll_interval);
    // Without --timeout, wait as long as the run takes (bounded to a year to avoid overflow).
    let timeout = Duration::from_secs(wait.timeout.unwrap_or(365 * 24 * 3600));
    let done = workflow::wait_for_run(client, &run.run_id, interval, timeout)?;
    print!("{}", output::render_one(format, &done));
    if done.state.is_failure() {
        let reason = done
            .error
            .and_then(|e| e.message)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        eprintln!(
            "error: run {} finished {}{reason}",
            done.run_id,
            done.state.as_str()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
