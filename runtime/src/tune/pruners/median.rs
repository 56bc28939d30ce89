//! Optuna's MedianPruner (PercentilePruner at 50 %): prune when the trial's best intermediate
//! value so far is worse than the median of COMPLETE trials' values at the same step, unless
//! the hindsight check (`hindsight.rs`) finds the step unsafe.

use super::hindsight::{DEFAULT_PROTECT_BEST, best_finished};
use super::{PruneContext, PruneDecision, Pruner};
use crate::tune::error::TuneError;
use crate::tune::frozen::{Direction, FrozenTrial, TrialState};

/// Median stopping rule.
#[derive(Debug, Clone)]
pub struct MedianPruner {
    pub n_startup_trials: usize,
    pub n_warmup_steps: u64,
    pub interval_steps: u64,
    /// Fewest COMPLETE trials that reported the step for the rule to apply.
    pub n_min_trials: usize,
    /// No pruning at a step where the rule would have pruned one of this many best finished
    /// trials; 0 is Optuna's rule.
    pub protect_best: usize,
}

impl Default for MedianPruner {
    /// Optuna's defaults (5 start-up trials, no warm-up, every step, 1 trial at the step) with
    /// the 5 best finished trials protected.
    fn default() -> Self {
        MedianPruner { n_startup_trials: 5, n_warmup_steps: 0, interval_steps: 1, n_min_trials: 1, protect_best: DEFAULT_PROTECT_BEST }
    }
}

impl MedianPruner {
    pub fn new(n_startup_trials: usize, n_warmup_steps: u64, interval_steps: u64) -> Result<Self, TuneError> {
        if interval_steps == 0 {
            return Err(TuneError::InvalidSetting { name: "interval_steps", reason: "must be at least 1".into() });
        }
        Ok(MedianPruner { n_startup_trials, n_warmup_steps, interval_steps, ..MedianPruner::default() })
    }

    /// Optuna's MedianPruner exactly: no trial protected.
    pub fn optuna() -> Self {
        MedianPruner { protect_best: 0, ..MedianPruner::default() }
    }
}

/// The best of `trial`'s intermediate values up to `step`, if it has any.
fn best_up_to(trial: &FrozenTrial, step: u64, direction: Direction) -> Option<f64> {
    let values = trial.intermediate_values.range(..=step).map(|(_, v)| *v).filter(|v| !v.is_nan());
    match direction {
        Direction::Minimize => values.reduce(f64::min),
        Direction::Maximize => values.reduce(f64::max),
    }
}

/// numpy.percentile with linear interpolation, on a sorted slice.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Pruner for MedianPruner {
    fn prune(&self, ctx: &PruneContext<'_>, trial: &FrozenTrial) -> PruneDecision {
        let Some((step, _)) = trial.last_step() else { return PruneDecision::keep() };
        let completed: Vec<&FrozenTrial> = ctx.trials.iter().map(AsRef::as_ref).filter(|t| t.state == TrialState::Complete).collect();
        if completed.len() < self.n_startup_trials || step < self.n_warmup_steps {
            return PruneDecision::keep();
        }
        if !(step - self.n_warmup_steps).is_multiple_of(self.interval_steps) {
            // Optuna only checks at the first reported step of each interval.
            let prev = trial.intermediate_values.range(..step).next_back().map(|(s, _)| *s);
            if prev.is_some_and(|p| (p.saturating_sub(self.n_warmup_steps)) / self.interval_steps == (step - self.n_warmup_steps) / self.interval_steps) {
                return PruneDecision::keep();
            }
        }
        let Some(best) = best_up_to(trial, step, ctx.direction).filter(|b| b.is_finite()) else { return PruneDecision::prune() };
        let mut at_step: Vec<f64> = completed.iter().filter_map(|t| t.intermediate_values.get(&step).copied()).filter(|v| !v.is_nan()).collect();
        if at_step.len() < self.n_min_trials.max(1) {
            return PruneDecision::keep();
        }
        at_step.sort_by(f64::total_cmp);
        let median = percentile_sorted(&at_step, 50.0);
        let below_median = |value: f64| ctx.direction.better(median, value);
        let prune = below_median(best)
            && !best_finished(ctx.trials, ctx.direction, step, self.protect_best).into_iter().any(|t| best_up_to(t, step, ctx.direction).is_some_and(below_median));
        PruneDecision { prune, attrs: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        assert_eq!(percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
        assert_eq!(percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 25.0), 1.75);
        assert_eq!(percentile_sorted(&[7.0], 50.0), 7.0);
    }
}
