//! Samplers choose parameter values. A sampler may draw a whole trial jointly (`sample_relative`
//! over a search space it infers from past trials) and draws the rest one parameter at a time.
//!
//! Samplers hold no mutable state: every draw comes from a stream derived from (seed, trial
//! number, parameter), so seeded studies are reproducible with any number of threads as long as
//! the order in which trials finish is the same.

mod grid;
mod latin_hypercube;
mod random;
mod tpe;

pub use grid::GridSampler;
pub use latin_hypercube::LatinHypercube;
pub use random::{RandomSampler, entropy_seed};
pub use tpe::{TpeGamma, TpeGoodWeights, TpeProposal, TpeSampler};

use super::distributions::Distribution;
use super::frozen::{Direction, FrozenTrial, TrialState};
use super::search_space::SearchSpace;
use super::trial_list::TrialList;
use indexmap::IndexMap;

/// System attribute holding a running trial's jointly drawn params (name → internal value), so
/// that other workers see what is in flight.
pub const RELATIVE_PARAMS_ATTR: &str = "relative_params";

/// What a sampler may look at.
#[derive(Debug, Clone, Copy)]
pub struct SampleContext<'a> {
    pub study_name: &'a str,
    pub direction: Direction,
    /// The study's trials, including the one being sampled. Under Hyperband too: Optuna's
    /// `_BracketStudy` filters only `get_trials`, which its samplers never call (they read
    /// `_get_trials`), so they learn from every bracket, and so do ours.
    pub trials: &'a TrialList,
    /// The trial being sampled.
    pub number: u64,
}

/// A parameter-choosing strategy.
pub trait Sampler: Send + Sync {
    /// The parameters to draw jointly at the start of a trial.
    fn relative_search_space(&self, _ctx: &SampleContext<'_>) -> SearchSpace {
        SearchSpace::new()
    }

    /// Joint draw over `space`: name → internal value (may leave names out).
    fn sample_relative(&self, _ctx: &SampleContext<'_>, _space: &SearchSpace) -> IndexMap<String, f64> {
        IndexMap::new()
    }

    /// Draws one parameter's internal value.
    fn sample_independent(&self, ctx: &SampleContext<'_>, name: &str, distribution: &Distribution) -> f64;

    /// Whether the sampler can run out of proposals (a grid); only then is `is_exhausted` asked.
    fn can_exhaust(&self) -> bool {
        false
    }

    /// True when the sampler has nothing left to propose (a finished grid).
    fn is_exhausted(&self, _ctx: &SampleContext<'_>) -> bool {
        false
    }
}

/// A trial's internal value for `name`: set, or drawn jointly and still in flight. `position`
/// is where the name usually sits in the trial's params (checked first, to skip hashing).
pub fn internal_value(trial: &FrozenTrial, name: &str, position: usize) -> Option<f64> {
    if let Some((key, p)) = trial.params.get_index(position)
        && key == name
    {
        return Some(p.internal);
    }
    trial.params.get(name).map(|p| p.internal).or_else(|| trial.system_attrs.get(RELATIVE_PARAMS_ATTR)?.get(name)?.as_f64())
}

/// Parameters present with the same distribution in every finished (COMPLETE or PRUNED) trial,
/// in first-seen order: the space multivariate samplers draw jointly. Updated incrementally:
/// finished trials never change, so each is intersected once, and only trials not finished at
/// the last ask, or new since, are looked at again.
#[derive(Debug, Default)]
pub struct IntersectionCache {
    state: std::sync::Mutex<Intersection>,
}

#[derive(Debug, Default)]
struct Intersection {
    study: String,
    /// Trials 0..scanned were looked at; these of them were not finished then.
    scanned: usize,
    unfinished: Vec<usize>,
    space: Option<SearchSpace>,
}

impl IntersectionCache {
    pub fn get(&self, ctx: &SampleContext<'_>) -> SearchSpace {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        // Another study, or another list of this one's trials: start again.
        if state.study != ctx.study_name || ctx.trials.len() < state.scanned {
            *state = Intersection { study: ctx.study_name.to_owned(), ..Intersection::default() };
        }
        let finished = |number: usize| matches!(ctx.trials[number].state, TrialState::Complete | TrialState::Pruned);
        // In number order, as a walk over all trials would meet them.
        let mut newly_finished: Vec<usize> = Vec::new();
        state.unfinished.retain(|&number| !finished(number) || {
            newly_finished.push(number);
            false
        });
        for number in state.scanned..ctx.trials.len() {
            if finished(number) { newly_finished.push(number) } else { state.unfinished.push(number) }
        }
        state.scanned = ctx.trials.len();
        for number in newly_finished {
            let trial = &ctx.trials[number];
            match &mut state.space {
                None => state.space = Some(trial.params.iter().map(|(k, p)| (k.clone(), p.distribution.clone())).collect()),
                Some(space) => space.retain(|name, dist| trial.params.get(name).is_some_and(|p| p.distribution == *dist)),
            }
        }
        state.space.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::frozen::{Direction, FrozenTrial, Param};
    use crate::tune::trial_list::TrialList;
    use std::sync::Arc;

    fn trial(number: u64, state: TrialState, params: &[(&str, &Distribution)]) -> Arc<FrozenTrial> {
        let params = params.iter().map(|(name, d)| ((*name).to_owned(), Param { distribution: (*d).clone(), internal: 0.0, value: 0.0.into() })).collect();
        Arc::new(FrozenTrial { params, ..FrozenTrial::new(number, state, 0.0) })
    }

    #[test]
    fn intersection_follows_trials_as_they_finish() {
        let (x, y, y2) = (Distribution::float("x", 0.0, 1.0, false, None).unwrap(), Distribution::int("y", 0, 9, false, 1).unwrap(), Distribution::int("y", 0, 5, false, 1).unwrap());
        let cache = IntersectionCache::default();
        let names = |study: &str, trials: &TrialList| {
            let ctx = SampleContext { study_name: study, direction: Direction::Minimize, trials, number: trials.len() as u64 };
            cache.get(&ctx).keys().cloned().collect::<Vec<_>>()
        };
        let mut trials: TrialList = [trial(0, TrialState::Running, &[("x", &x)]), trial(1, TrialState::Complete, &[("y", &y), ("x", &x)]), trial(2, TrialState::Fail, &[])].into_iter().collect();
        // The first finished trial sets the order; running and failed ones do not count.
        assert_eq!(names("s", &trials), ["y", "x"]);
        trials.push(trial(3, TrialState::Pruned, &[("x", &x), ("y", &y), ("z", &x)]));
        assert_eq!(names("s", &trials), ["y", "x"]);
        // Trial 0 finishes without y.
        *trials.get_mut(0).unwrap() = trial(0, TrialState::Complete, &[("x", &x)]);
        assert_eq!(names("s", &trials), ["x"]);
        // A shorter list of the study's trials (another study object of that name) starts again;
        // y with another distribution is not the same parameter.
        let mut other: TrialList = [trial(0, TrialState::Complete, &[("y", &y), ("x", &x)])].into_iter().collect();
        assert_eq!(names("s", &other), ["y", "x"]);
        other.push(trial(1, TrialState::Complete, &[("x", &x), ("y", &y2)]));
        assert_eq!(names("s", &other), ["x"]);
    }
}
