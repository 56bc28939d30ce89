//! Hyperparameter tuning (issue 5): Optuna-shaped studies with TPE, random and grid samplers,
//! median and Hyperband pruners, in-memory and journal-file storages, Optuna's search-space
//! JSON, and Katib `Experiment` generation for running the same search on Kubeflow.
//!
//! ```no_run
//! use kfp_runtime::tune::{Study, Direction, TpeSampler};
//! let study = Study::builder().direction(Direction::Minimize).sampler(TpeSampler::new(Some(0))).build()?;
//! study.optimize(|t| -> anyhow::Result<f64> {
//!     let x = t.suggest_float("x", -10.0, 10.0)?;
//!     Ok((x - 2.0) * (x - 2.0))
//! }, 50)?;
//! println!("{:?}", study.best_params()?);
//! # Ok::<(), kfp_runtime::tune::TuneError>(())
//! ```

pub mod distributions;
pub mod error;
pub mod frozen;
pub mod katib;
mod memo;
mod normal;
pub mod progress;
pub mod pruners;
pub mod rng;
pub mod samplers;
pub mod search_space;
pub mod storage;
pub mod study;
pub mod trial;
pub mod trial_list;

pub use distributions::{Distribution, ParamValue};
pub use error::{TrialPruned, TuneError};
pub use frozen::{Direction, FrozenTrial, Param, TrialState, Worker};
pub use pruners::{HyperbandPruner, MedianPruner, NopPruner, PruneContext, PruneDecision, Pruner};
pub use samplers::{GridSampler, RandomSampler, SampleContext, Sampler, TpeGamma, TpeGoodWeights, TpeProposal, TpeSampler};
pub use search_space::{SearchSpace, parse_search_space, search_space_to_json};
pub use storage::{InMemoryStorage, JournalStorage, Storage};
pub use study::{OptimizeOptions, StalePolicy, Study, StudyBuilder, TrialOutcome};
pub use trial::{Choice, Trial};
pub use trial_list::TrialList;
