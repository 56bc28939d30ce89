//! Exhaustive search over a grid of values per parameter, each point once, in a seeded order.

use super::{RELATIVE_PARAMS_ATTR, SampleContext, Sampler};
use crate::tune::distributions::{Distribution, ParamValue};
use crate::tune::error::TuneError;
use crate::tune::frozen::TrialState;
use crate::tune::rng::Rng;
use crate::tune::search_space::SearchSpace;
use indexmap::IndexMap;
use std::collections::HashSet;

/// Grid search; the study stops when every point has been started.
#[derive(Debug, Clone)]
pub struct GridSampler {
    /// Each parameter as a categorical over its grid values.
    space: SearchSpace,
    /// Visiting order of the grid points.
    order: Vec<usize>,
}

impl GridSampler {
    /// `grid`: parameter name → the values to try.
    pub fn new(grid: IndexMap<String, Vec<ParamValue>>, seed: Option<u64>) -> Result<Self, TuneError> {
        let space: SearchSpace = grid.into_iter().map(|(name, values)| Distribution::categorical(&name, values).map(|d| (name, d))).collect::<Result<_, _>>()?;
        let size: usize = space.values().map(|d| if let Distribution::Categorical { choices } = d { choices.len() } else { 1 }).product();
        let mut order: Vec<usize> = (0..size).collect();
        let mut rng = Rng::seed_from(seed.unwrap_or(0));
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        Ok(GridSampler { space, order })
    }

    fn choices(&self, name: &str) -> &[ParamValue] {
        match &self.space[name] {
            Distribution::Categorical { choices } => choices,
            _ => &[],
        }
    }

    /// Grid point id of a set of values (mixed radix over the parameters).
    fn point_of(&self, trial: &crate::tune::frozen::FrozenTrial) -> Option<usize> {
        let mut id = 0;
        for name in self.space.keys() {
            let choices = self.choices(name);
            let value = trial.param(name).cloned().or_else(|| choices.get(trial.system_attrs.get(RELATIVE_PARAMS_ATTR)?.get(name)?.as_f64()? as usize).cloned())?;
            id = id * choices.len() + choices.iter().position(|c| *c == value)?;
        }
        Some(id)
    }

    fn visited(&self, ctx: &SampleContext<'_>) -> HashSet<usize> {
        ctx.trials.iter().filter(|t| t.number != ctx.number && t.state != TrialState::Waiting).filter_map(|t| self.point_of(t)).collect()
    }
}

impl Sampler for GridSampler {
    fn relative_search_space(&self, _ctx: &SampleContext<'_>) -> SearchSpace {
        self.space.clone()
    }

    fn sample_relative(&self, ctx: &SampleContext<'_>, _space: &SearchSpace) -> IndexMap<String, f64> {
        let visited = self.visited(ctx);
        // Past the end of the grid, points repeat in the same order.
        let point = self.order.iter().copied().find(|p| !visited.contains(p)).unwrap_or(self.order[ctx.number as usize % self.order.len()]);
        let mut rest = point;
        let mut values: Vec<(String, f64)> = Vec::new();
        for name in self.space.keys().rev() {
            let n = self.choices(name).len();
            values.push((name.clone(), (rest % n) as f64));
            rest /= n;
        }
        values.into_iter().rev().collect()
    }

    fn sample_independent(&self, ctx: &SampleContext<'_>, name: &str, distribution: &Distribution) -> f64 {
        // A parameter outside the grid: uniform, from the trial's own stream.
        let mut rng = Rng::derive(0x6772_6964, ctx.number, crate::tune::rng::hash_str(name));
        super::random::sample_uniform(&mut rng, distribution)
    }

    fn can_exhaust(&self) -> bool {
        true
    }

    fn is_exhausted(&self, ctx: &SampleContext<'_>) -> bool {
        self.visited(ctx).len() >= self.order.len()
    }
}
