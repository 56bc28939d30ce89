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
pub use tpe::{TpeGamma, TpeSampler};

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
/// finished trials never change, so each is intersected once.
#[derive(Debug, Default)]
pub struct IntersectionCache {
    state: std::sync::Mutex<(String, Vec<bool>, Option<SearchSpace>)>,
}

impl IntersectionCache {
    pub fn get(&self, ctx: &SampleContext<'_>) -> SearchSpace {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (study, seen, space) = &mut *guard;
        if study != ctx.study_name {
            *study = ctx.study_name.to_owned();
            seen.clear();
            *space = None;
        }
        // Trials are indexed by number: `ctx.trials` may be a subset (a Hyperband bracket).
        let needed = ctx.trials.iter().map(|t| t.number as usize + 1).max().unwrap_or(0);
        seen.resize(seen.len().max(needed), false);
        for trial in ctx.trials.iter().filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned)) {
            if std::mem::replace(&mut seen[trial.number as usize], true) {
                continue;
            }
            match space {
                None => *space = Some(trial.params.iter().map(|(k, p)| (k.clone(), p.distribution.clone())).collect()),
                Some(space) => space.retain(|name, dist| trial.params.get(name).is_some_and(|p| p.distribution == *dist)),
            }
        }
        space.clone().unwrap_or_default()
    }
}
