//! Storage in process memory, shared by the threads of one process.

use super::{Registry, Snapshot, Storage, Transaction};
use crate::tune::error::TuneError;
use std::sync::Mutex;

/// The default storage: fast, gone when the process ends.
#[derive(Debug, Default)]
pub struct InMemoryStorage {
    registry: Mutex<Registry>,
}

impl InMemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panicking objective never holds this lock, so a poisoned lock still holds valid data.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for InMemoryStorage {
    fn describe(&self) -> String {
        "in-memory storage".into()
    }

    fn transact(&self, body: &mut Transaction<'_>) -> Result<(), TuneError> {
        let mut registry = self.lock();
        for op in body(&registry)? {
            registry.apply(&op)?;
        }
        Ok(())
    }

    fn snapshot(&self, study: &str) -> Result<Option<Snapshot>, TuneError> {
        Ok(self.lock().study(study).map(|s| Snapshot { direction: s.direction, trials: s.trials.clone() }))
    }

    fn trial(&self, study: &str, number: u64) -> Result<Option<std::sync::Arc<crate::tune::frozen::FrozenTrial>>, TuneError> {
        Ok(self.lock().study(study).and_then(|s| s.trials.get(number as usize).cloned()))
    }

    fn study_names(&self) -> Result<Vec<String>, TuneError> {
        let mut names: Vec<String> = self.lock().studies.keys().cloned().collect();
        names.sort();
        Ok(names)
    }
}
