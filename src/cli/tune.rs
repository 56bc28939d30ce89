//! `kfp tune ask|tell|best`: drive a study stored in a journal file from any language, like
//! `optuna ask` / `optuna tell`. Search spaces use Optuna's distribution JSON.

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use kfp_runtime::tune::{Direction, JournalStorage, RandomSampler, Storage, Study, StudyBuilder, TpeSampler, TrialOutcome, parse_search_space};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TuneCommand,
}

/// Where the study lives.
#[derive(clap::Args)]
struct StudyArgs {
    /// Journal file holding the study (created if missing; shared safely by processes).
    #[arg(long)]
    storage: PathBuf,
    /// Study name.
    #[arg(long)]
    study: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum SamplerKind {
    Tpe,
    Random,
}

#[derive(Clone, Copy, ValueEnum)]
enum DirectionArg {
    Minimize,
    Maximize,
}

#[derive(Clone, Copy, ValueEnum)]
enum EndState {
    Pruned,
    Fail,
}

#[derive(Subcommand)]
enum TuneCommand {
    /// Start a trial; prints {"number": N, "params": {...}}.
    Ask {
        #[command(flatten)]
        study: StudyArgs,
        /// Optuna distribution JSON ({"x": {"name": "FloatDistribution", "attributes": {...}}}),
        /// or @FILE to read it from a file.
        #[arg(long)]
        search_space: String,
        #[arg(long, value_enum, default_value = "tpe")]
        sampler: SamplerKind,
        /// Seed: the same seed and history give the same params.
        #[arg(long)]
        seed: Option<u64>,
        /// Direction of a new study (an existing study keeps its own; a different one is an error).
        #[arg(long, value_enum)]
        direction: Option<DirectionArg>,
    },
    /// Finish a trial with its value, or as pruned or failed.
    Tell {
        #[command(flatten)]
        study: StudyArgs,
        #[arg(long)]
        trial: u64,
        #[arg(long, required_unless_present = "state", conflicts_with = "state", allow_negative_numbers = true)]
        value: Option<f64>,
        #[arg(long, value_enum)]
        state: Option<EndState>,
    },
    /// Print the best trial as JSON.
    Best {
        #[command(flatten)]
        study: StudyArgs,
    },
}

fn storage(path: &PathBuf) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(JournalStorage::open(path)?))
}

fn builder(args: &StudyArgs) -> Result<StudyBuilder> {
    Ok(Study::builder().name(args.study.clone()).storage(storage(&args.storage)?).load_if_exists(true))
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        TuneCommand::Ask { study, search_space, sampler, seed, direction } => {
            let text = match search_space.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read search space file {path}"))?,
                None => search_space,
            };
            let space = parse_search_space(&text).context("--search-space")?;
            let mut b = builder(&study)?;
            b = match sampler {
                SamplerKind::Tpe => b.sampler(TpeSampler::new(seed)),
                SamplerKind::Random => b.sampler(RandomSampler::new(seed)),
            };
            if let Some(d) = direction {
                b = b.direction(match d {
                    DirectionArg::Minimize => Direction::Minimize,
                    DirectionArg::Maximize => Direction::Maximize,
                });
            }
            let st = b.build()?;
            let mut trial = st.ask_detached()?;
            let mut params = serde_json::Map::new();
            for (name, dist) in &space {
                params.insert(name.clone(), serde_json::to_value(trial.suggest(name, dist)?)?);
            }
            println!("{}", serde_json::json!({"number": trial.number(), "params": params}));
        }
        TuneCommand::Tell { study, trial, value, state } => {
            let outcome = match (value, state) {
                (Some(v), _) if !v.is_finite() => bail!("--value {v} is not a finite number; use --state fail for a failed trial"),
                (Some(v), _) => TrialOutcome::Complete(v),
                (None, Some(EndState::Pruned)) => TrialOutcome::Pruned,
                (None, Some(EndState::Fail)) => TrialOutcome::Fail("reported failed by `kfp tune tell`".into()),
                (None, None) => bail!("give --value or --state"),
            };
            let st = builder(&study)?.load()?;
            let frozen = st.tell_number(trial, outcome)?;
            println!("{}", serde_json::json!({"number": frozen.number, "state": frozen.state}));
        }
        TuneCommand::Best { study } => {
            let st = builder(&study)?.load()?;
            println!("{}", st.best_trial()?.to_json());
        }
    }
    Ok(ExitCode::SUCCESS)
}
