//! The pruner that never prunes.

use super::{PruneContext, PruneDecision, Pruner};
use crate::tune::frozen::FrozenTrial;

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn prune(&self, _ctx: &PruneContext<'_>, _trial: &FrozenTrial) -> PruneDecision {
        PruneDecision::keep()
    }
}
