//! The Tree-structured Parzen Estimator, following Optuna 5's TPESampler: random start-up
//! trials, a split of finished trials into a good group (γ(n) = min(⌈0.1 n⌉, 25) best) and a bad
//! group, one Parzen estimator each (prior kernel, magic-clip bandwidths, Optuna's weights), and
//! of 24 draws from the good estimator the one maximising ln l(x) − ln g(x). Multivariate mode
//! draws all parameters of the intersection search space jointly (product kernels); constant
//! liar puts running trials in the bad group so parallel workers spread out.

mod parzen;

pub use parzen::{ParzenEstimator, ParzenSettings};

use super::random::{entropy_seed, sample_uniform};
use super::{IntersectionCache, SampleContext, Sampler, internal_value};
use crate::tune::distributions::Distribution;
use crate::tune::frozen::{FrozenTrial, TrialState};
use crate::tune::rng::{Rng, hash_str};
use crate::tune::search_space::SearchSpace;
use indexmap::IndexMap;
use std::cmp::Ordering;

/// Stream id of the joint draw (parameter streams use the name's hash).
const RELATIVE_STREAM: u64 = 0x7265_6c61_7469_7665;

/// TPE settings; `TpeSampler::new(seed)` gives Optuna 5's defaults.
#[derive(Debug)]
pub struct TpeSampler {
    space_cache: IntersectionCache,
    seed: u64,
    pub n_startup_trials: usize,
    pub n_ei_candidates: usize,
    pub multivariate: bool,
    pub constant_liar: bool,
    pub settings: ParzenSettings,
}

/// γ(n) = min(⌈0.1 n⌉, 25).
pub fn default_gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// Optuna's `default_weights`: ones below 25 observations, else a ramp from 1/n to 1 over the
/// oldest n − 25 and ones for the newest 25.
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp_len = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..ramp_len)
        .map(|i| if ramp_len == 1 { start } else { start + (1.0 - start) * i as f64 / (ramp_len - 1) as f64 })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// Ranking key of an observation: (−deepest step, loss); COMPLETE trials use −∞ as step.
#[derive(Debug, Clone, Copy)]
struct Score(f64, f64);

impl Score {
    fn cmp(&self, other: &Score) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.total_cmp(&other.1))
    }
}

/// Observations of `names` for the split: values (per name) and scores, plus the count of
/// finished trials among them.
struct Observations {
    values: Vec<Vec<f64>>,
    scores: Vec<Score>,
    running: Vec<bool>,
    n_finished: usize,
}

impl TpeSampler {
    /// Optuna 5 defaults: 10 start-up trials, 24 candidates, multivariate, constant liar.
    pub fn new(seed: Option<u64>) -> Self {
        TpeSampler {
            space_cache: IntersectionCache::default(),
            seed: seed.unwrap_or_else(entropy_seed),
            n_startup_trials: 10,
            n_ei_candidates: 24,
            multivariate: true,
            constant_liar: true,
            settings: ParzenSettings { prior_weight: 1.0, consider_magic_clip: true, consider_endpoints: false },
        }
    }

    /// Independent (per-parameter) TPE, Optuna 4's default.
    pub fn univariate(seed: Option<u64>) -> Self {
        TpeSampler { multivariate: false, ..TpeSampler::new(seed) }
    }

    fn observations(&self, ctx: &SampleContext<'_>, names: &[&str]) -> Observations {
        let sign = ctx.direction.sign();
        let mut obs = Observations { values: vec![Vec::new(); names.len()], scores: Vec::new(), running: Vec::new(), n_finished: 0 };
        for trial in ctx.trials.iter().filter(|t| t.number != ctx.number) {
            let Some(score) = self.score(trial, sign) else { continue };
            let values: Option<Vec<f64>> = names.iter().enumerate().map(|(i, n)| internal_value(trial, n, i)).collect();
            let Some(values) = values else { continue };
            for (column, v) in obs.values.iter_mut().zip(values) {
                column.push(v);
            }
            obs.scores.push(score);
            obs.running.push(trial.state == TrialState::Running);
            if trial.state != TrialState::Running {
                obs.n_finished += 1;
            }
        }
        obs
    }

    fn score(&self, trial: &FrozenTrial, sign: f64) -> Option<Score> {
        match trial.state {
            TrialState::Complete => Some(Score(f64::NEG_INFINITY, sign * trial.value?)),
            TrialState::Pruned => Some(match trial.last_step() {
                Some((step, v)) if v.is_nan() => Score(-(step as f64), f64::INFINITY),
                Some((step, v)) => Score(-(step as f64), sign * v),
                None => Score(1.0, 0.0),
            }),
            TrialState::Running if self.constant_liar => Some(Score(f64::NEG_INFINITY, f64::INFINITY)),
            _ => None,
        }
    }

    /// The TPE draw over `space` given the observations; `None` while in start-up.
    fn sample_tpe(&self, ctx: &SampleContext<'_>, space: &[(&str, &Distribution)], rng: &mut Rng) -> Option<Vec<f64>> {
        let names: Vec<&str> = space.iter().map(|(n, _)| *n).collect();
        let obs = self.observations(ctx, &names);
        if obs.n_finished < self.n_startup_trials {
            return None;
        }
        // COMPLETE trials by value fill the good group first, then PRUNED ones by (deepest
        // step, value there); RUNNING ones (constant liar) always go to the bad group.
        let n_below = default_gamma(obs.n_finished);
        let mut order: Vec<usize> = (0..obs.scores.len()).filter(|&i| !obs.running[i]).collect();
        order.sort_by(|&a, &b| obs.scores[a].cmp(&obs.scores[b]).then(a.cmp(&b)));
        let mut below = order[..n_below.min(order.len())].to_vec();
        below.sort_unstable();
        let above: Vec<usize> = (0..obs.scores.len()).filter(|i| below.binary_search(i).is_err()).collect();
        let dists: Vec<&Distribution> = space.iter().map(|(_, d)| *d).collect();
        let build = |idx: &[usize]| {
            let columns: Vec<Vec<f64>> = obs.values.iter().map(|col| idx.iter().map(|&i| col[i]).collect()).collect();
            ParzenEstimator::new(&dists, &columns, &default_weights(idx.len()), self.settings)
        };
        let (l, g) = (build(&below), build(&above));
        let candidates = l.sample(rng, self.n_ei_candidates);
        let (log_l, log_g) = (l.log_pdf(&candidates), g.log_pdf(&candidates));
        let best = (0..candidates.len()).max_by(|&a, &b| (log_l[a] - log_g[a]).total_cmp(&(log_l[b] - log_g[b])).then(b.cmp(&a)))?;
        candidates.into_iter().nth(best)
    }
}

impl Sampler for TpeSampler {
    fn relative_search_space(&self, ctx: &SampleContext<'_>) -> SearchSpace {
        if !self.multivariate {
            return SearchSpace::new();
        }
        let mut space = self.space_cache.get(ctx);
        space.retain(|_, d| !d.is_single());
        space
    }

    fn sample_relative(&self, ctx: &SampleContext<'_>, space: &SearchSpace) -> IndexMap<String, f64> {
        if space.is_empty() {
            return IndexMap::new();
        }
        let mut rng = Rng::derive(self.seed, ctx.number, RELATIVE_STREAM);
        let pairs: Vec<(&str, &Distribution)> = space.iter().map(|(k, d)| (k.as_str(), d)).collect();
        match self.sample_tpe(ctx, &pairs, &mut rng) {
            Some(values) => space.iter().zip(values).map(|((name, dist), v)| (name.clone(), dist.snap(v))).collect(),
            None => IndexMap::new(),
        }
    }

    fn sample_independent(&self, ctx: &SampleContext<'_>, name: &str, distribution: &Distribution) -> f64 {
        let mut rng = Rng::derive(self.seed, ctx.number, hash_str(name));
        match self.sample_tpe(ctx, &[(name, distribution)], &mut rng) {
            Some(values) => distribution.snap(values[0]),
            None => sample_uniform(&mut rng, distribution),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_weights_match_optuna() {
        assert_eq!([default_gamma(10), default_gamma(11), default_gamma(100), default_gamma(1000)], [1, 2, 10, 25]);
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-15 && (w[4] - 1.0).abs() < 1e-15 && w[5..].iter().all(|x| *x == 1.0));
    }
}
