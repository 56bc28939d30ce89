//! The hindsight check, our one change to Optuna's pruning rules: at a step where the rule would
//! also have pruned one of the study's best finished trials, the median rule prunes nothing and
//! Hyperband only stops trials in a rung's bottom 1/η that are worse there than every one of
//! those best trials. Learning curves cross (a high learning rate looks best early and ends
//! worse), and at such steps a rule comparing values step by step stops exactly the slow
//! starters that finish best; the finished trials show which steps those are. Each pruner sets
//! how many best trials it protects (`protect_best`; 0 gives Optuna's rule unchanged).

use crate::tune::frozen::{Direction, FrozenTrial, TrialState};
use crate::tune::trial_list::TrialList;

/// Best finished trials the pruners protect by default. At equal compute on crossing learning
/// curves this turns pruning from a loss into a gain; protecting more only approaches no
/// pruning (see `benches/tune.rs`). With few finished trials it also delays pruning: the median
/// rule prunes only once the 5 best all sit below the median.
pub const DEFAULT_PROTECT_BEST: usize = 5;

/// The `n` best COMPLETE trials of `trials` by final value that reported a value at `step` or
/// later, best first.
pub fn best_finished(trials: &TrialList, direction: Direction, step: u64, n: usize) -> Vec<&FrozenTrial> {
    if n == 0 {
        return Vec::new();
    }
    let mut finished: Vec<(f64, &FrozenTrial)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.intermediate_values.range(step..).next().is_some())
        .filter_map(|t| Some((direction.sign() * t.value?, t.as_ref())))
        .collect();
    let by_value = |a: &(f64, &FrozenTrial), b: &(f64, &FrozenTrial)| a.0.total_cmp(&b.0).then(a.1.number.cmp(&b.1.number));
    if finished.len() > n {
        finished.select_nth_unstable_by(n, by_value);
        finished.truncate(n);
    }
    finished.sort_unstable_by(by_value);
    finished.into_iter().map(|(_, t)| t).collect()
}
