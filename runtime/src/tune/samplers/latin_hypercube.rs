//! A Latin hypercube design for a sampler's start-up trials: trial `i` of the first `size`
//! falls in stratum `perm[i]` of each parameter's range (one permutation per parameter), so
//! that the start-up trials cover every range evenly instead of clumping as uniform draws do.
//! Each parameter is stratified on its own, so the design needs no fixed search space.

use super::random::value_at_quantile;
use crate::tune::distributions::Distribution;
use crate::tune::rng::{Rng, hash_str};

/// Trial number whose stream (never a real trial's: numbers are counted from 0) shuffles the strata.
const PERMUTATION_STREAM: u64 = u64::MAX;

#[derive(Debug, Clone, Copy)]
pub struct LatinHypercube {
    pub seed: u64,
    pub size: usize,
}

impl LatinHypercube {
    /// The design's internal value of `name` for trial `number`, jittered within its stratum by
    /// `rng`; `None` for trials past the design.
    pub fn sample(&self, number: u64, name: &str, distribution: &Distribution, rng: &mut Rng) -> Option<f64> {
        let position = usize::try_from(number).ok().filter(|&n| n < self.size)?;
        let stratum = self.strata(name)[position];
        Some(value_at_quantile(distribution, (stratum as f64 + rng.uniform()) / self.size as f64))
    }

    /// The stratum of each design trial for `name`: a seeded Fisher-Yates shuffle.
    fn strata(&self, name: &str) -> Vec<usize> {
        let mut rng = Rng::derive(self.seed, PERMUTATION_STREAM, hash_str(name));
        let mut strata: Vec<usize> = (0..self.size).collect();
        for i in (1..self.size).rev() {
            strata.swap(i, rng.below(i + 1));
        }
        strata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stratum_is_hit_once_per_parameter() {
        let design = LatinHypercube { seed: 3, size: 10 };
        let dists = [
            ("lr", Distribution::float("lr", 1e-5, 1e-2, true, None).unwrap()),
            ("d", Distribution::float("d", 0.0, 0.5, false, None).unwrap()),
            ("h", Distribution::int("h", 0, 99, false, 1).unwrap()),
        ];
        for (name, dist) in &dists {
            let (low, high, log) = match *dist {
                Distribution::Float { low, high, log, .. } => (low, high, log),
                Distribution::Int { low, high, .. } => (low as f64 - 0.5, high as f64 + 0.5, false),
                Distribution::Categorical { .. } => unreachable!(),
            };
            let position = |x: f64| if log { (x.ln() - low.ln()) / (high.ln() - low.ln()) } else { (x - low) / (high - low) };
            let mut strata: Vec<usize> = (0..10)
                .map(|n| {
                    let x = design.sample(n, name, dist, &mut Rng::derive(1, n, 7)).unwrap();
                    assert!(dist.contains(x), "{x} outside {dist}");
                    (position(x) * 10.0) as usize
                })
                .collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..10).collect::<Vec<_>>(), "{dist}");
        }
        assert_eq!(design.sample(10, "lr", &dists[0].1, &mut Rng::seed_from(1)), None);
    }

    #[test]
    fn parameters_get_independent_permutations() {
        let design = LatinHypercube { seed: 3, size: 10 };
        assert_ne!(design.strata("a"), design.strata("b"));
        assert_eq!(design.strata("a"), design.strata("a"));
        assert_ne!(design.strata("a"), LatinHypercube { seed: 4, size: 10 }.strata("a"));
    }
}
