//! `kfp experiment create|list`.

use super::connection::{Connection, ListFlags, note_next_page};
use kfp_client::api::NewExperiment;
use kfp_client::{endpoints, output};
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
    /// Create an experiment.
    Create {
        /// Experiment name.
        name: String,
        #[arg(long, short = 'd')]
        description: Option<String>,
    },
    /// List experiments.
    List(ListFlags),
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.connection.format();
    let client = args.connection.client()?;
    match args.command {
        Command::Create { name, description } => {
            let new = NewExperiment {
                display_name: name,
                description,
                namespace: client.config().namespace.clone(),
            };
            let created = endpoints::create_experiment(&client, &new)?;
            print!("{}", output::render_one(format, &created));
        }
        Command::List(flags) => {
            let listed = endpoints::list_experiments(&client, &flags.options())?;
            print!("{}", output::render_list(format, &listed.experiments));
            note_next_page(format, listed.next_page_token.as_deref());
        }
    }
    Ok(ExitCode::SUCCESS)
}
