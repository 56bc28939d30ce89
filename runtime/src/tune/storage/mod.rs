//! Where studies live. Every change is an [`Op`]; a storage applies ops to a [`Registry`] (the
//! in-memory view) inside a transaction. The journal storage also appends them to a file, one
//! JSON object per line, so replaying the file rebuilds the same registry.

mod journal;
mod memory;
mod registry;

pub use journal::JournalStorage;
pub use memory::InMemoryStorage;
pub use registry::{Op, Registry, StudyState, now_unix};

use super::error::TuneError;
use super::frozen::FrozenTrial;
use crate::tune::trial_list::TrialList;
use std::sync::Arc;

/// A consistent copy of one study: its direction and trials, in number order.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub direction: super::frozen::Direction,
    pub trials: TrialList,
}

/// A transaction body: reads the registry, returns the ops to commit.
pub type Transaction<'a> = dyn FnMut(&Registry) -> Result<Vec<Op>, TuneError> + 'a;

/// Storage of studies, shared by threads (and, for the journal, by processes).
pub trait Storage: Send + Sync {
    /// A short description for messages (e.g. the journal path).
    fn describe(&self) -> String;

    /// Runs `body` on an up-to-date registry and commits the ops it returns atomically with
    /// respect to other threads and processes. Ops applied before a failing one stay applied.
    fn transact(&self, body: &mut Transaction<'_>) -> Result<(), TuneError>;

    /// The current state of a study, or `None` if it does not exist.
    fn snapshot(&self, study: &str) -> Result<Option<Snapshot>, TuneError>;

    /// One trial of a study (by default through a snapshot).
    fn trial(&self, study: &str, number: u64) -> Result<Option<Arc<FrozenTrial>>, TuneError> {
        Ok(self.snapshot(study)?.and_then(|s| s.trials.get(number as usize).cloned()))
    }

    /// Names of the studies stored here.
    fn study_names(&self) -> Result<Vec<String>, TuneError>;
}
