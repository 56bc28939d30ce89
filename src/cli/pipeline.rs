//! `kfp pipeline create|create-version|list`: upload compiled pipelines to a KFP server.

use super::connection::{Connection, ListFlags, note_next_page};
use anyhow::Context;
use kfp_client::output;
use kfp_client::{PipelineFile, endpoints, workflow};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Upload a compiled pipeline (YAML) as a new pipeline.
    Create {
        /// Pipeline name (default: pipelineInfo.name of the spec).
        #[arg(long, short = 'p')]
        name: Option<String>,
        #[arg(long, short = 'd')]
        description: Option<String>,
        /// Compiled pipeline YAML.
        file: PathBuf,
    },
    /// Upload a compiled pipeline (YAML) as a new version of an existing pipeline.
    CreateVersion {
        /// ID of the pipeline.
        #[arg(
            long,
            required_unless_present = "pipeline_name",
            conflicts_with = "pipeline_name"
        )]
        pipeline_id: Option<String>,
        /// Name of the pipeline, looked up on the server.
        #[arg(long, short = 'n')]
        pipeline_name: Option<String>,
        /// Name of the new version.
        #[arg(long, short = 'v')]
        version: String,
        #[arg(long, short = 'd')]
        description: Option<String>,
        /// Compiled pipeline YAML.
        file: PathBuf,
    },
    /// List pipelines.
    List(ListFlags),
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.connection.format();
    match args.command {
        Command::Create {
            name,
            description,
            file,
        } => {
            let pipeline = PipelineFile::read(&file)?;
            let name = workflow::pipeline_name(&pipeline, name.as_deref())?;
            let client = args.connection.client()?;
            let created = endpoints::upload_pipeline(&client, &pipeline.upload_filename(), &pipeline.bytes, &name, description.as_deref())
                .map_err(|err| match err.status() {
                    Some(409) => anyhow::anyhow!("{err}; add a version with `kfp pipeline create-version --pipeline-name {name:?}`"),
                    _ => err.into(),
                })?;
            print!("{}", output::render_one(format, &created));
        }
        Command::CreateVersion {
            pipeline_id,
            pipeline_name,
            version,
            description,
            file,
        } => {
            let pipeline = PipelineFile::read(&file)?;
            let client = args.connection.client()?;
            let pipeline_id = match (pipeline_id, pipeline_name) {
                (Some(id), _) => id,
                (None, Some(name)) => workflow::pipeline_id_by_name(&client, &name)?,
                (None, None) => unreachable!("clap requires --pipeline-id or --pipeline-name"),
            };
            let created = endpoints::upload_pipeline_version(
                &client,
                &pipeline_id,
                &pipeline.upload_filename(),
                &pipeline.bytes,
                &version,
                description.as_deref(),
            )
            .with_context(|| format!("uploading {} as version {version:?}", file.display()))?;
            print!("{}", output::render_one(format, &created));
        }
        Command::List(flags) => {
            let client = args.connection.client()?;
            let listed = endpoints::list_pipelines(&client, &flags.options())?;
            print!("{}", output::render_list(format, &listed.pipelines));
            note_next_page(format, listed.next_page_token.as_deref());
        }
    }
    Ok(ExitCode::SUCCESS)
}
