//! Uniform random sampling (log-uniform for log ranges), as Optuna's RandomSampler.

use super::{SampleContext, Sampler};
use crate::tune::distributions::Distribution;
use crate::tune::rng::{Rng, hash_str};

/// Independent uniform draws; `seed` makes a study reproducible.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    seed: u64,
}

impl RandomSampler {
    pub fn new(seed: Option<u64>) -> Self {
        RandomSampler { seed: seed.unwrap_or_else(entropy_seed) }
    }
}

/// A seed from the clock and the process id, for unseeded samplers.
pub fn entropy_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    Rng::derive(nanos, u64::from(std::process::id()), 0).next_u64()
}

/// One uniform draw from `distribution` (internal value).
pub fn sample_uniform(rng: &mut Rng, distribution: &Distribution) -> f64 {
    value_at_quantile(distribution, rng.uniform())
}

/// The internal value at quantile `u` ∈ [0, 1) of the uniform (log-uniform for log ranges)
/// distribution over `distribution`.
pub fn value_at_quantile(distribution: &Distribution, u: f64) -> f64 {
    let cell = |cells: i64| ((u * cells as f64) as i64).min(cells - 1);
    let between = |low: f64, high: f64| (low + (high - low) * u).clamp(low, high);
    match *distribution {
        Distribution::Float { low, high, log: true, .. } => between(low.ln(), high.ln()).exp().clamp(low, high),
        Distribution::Float { low, high, step: Some(step), .. } => (low + cell(((high - low) / step).round() as i64 + 1) as f64 * step).min(high),
        Distribution::Float { low, high, .. } => between(low, high),
        // Log-uniform over [low − ½, high + ½], rounded, as Optuna does for log ints.
        Distribution::Int { low, high, log: true, .. } => between((low as f64 - 0.5).ln(), (high as f64 + 0.5).ln()).exp().round().clamp(low as f64, high as f64),
        Distribution::Int { low, high, step, .. } => (low + cell((high - low) / step + 1) * step) as f64,
        Distribution::Categorical { ref choices } => cell(choices.len() as i64) as f64,
    }
}

impl Sampler for RandomSampler {
    fn sample_independent(&self, ctx: &SampleContext<'_>, name: &str, distribution: &Distribution) -> f64 {
        let mut rng = Rng::derive(self.seed, ctx.number, hash_str(name));
        sample_uniform(&mut rng, distribution)
    }
}
