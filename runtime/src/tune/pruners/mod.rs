//! Pruners decide from intermediate values whether a running trial should stop early.

mod hindsight;
mod hyperband;
mod median;
mod nop;

pub use hyperband::{HyperbandPruner, SuccessiveHalving, crc32};
pub use hindsight::DEFAULT_PROTECT_BEST;
pub use median::MedianPruner;
pub use nop::NopPruner;

use super::frozen::{Direction, FrozenTrial};
use crate::tune::trial_list::TrialList;

/// What a pruner may look at.
#[derive(Debug, Clone, Copy)]
pub struct PruneContext<'a> {
    pub study_name: &'a str,
    pub direction: Direction,
    pub trials: &'a TrialList,
}

/// A pruner's answer, with system attributes to record on the trial (e.g. Hyperband rungs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneDecision {
    pub prune: bool,
    pub attrs: Vec<(String, serde_json::Value)>,
}

impl PruneDecision {
    pub fn keep() -> Self {
        PruneDecision::default()
    }
    pub fn prune() -> Self {
        PruneDecision { prune: true, attrs: Vec::new() }
    }
}

/// A pruning rule.
pub trait Pruner: Send + Sync {
    /// Called by `Trial::should_prune` after the trial's latest `report`.
    fn prune(&self, ctx: &PruneContext<'_>, trial: &FrozenTrial) -> PruneDecision;
}
