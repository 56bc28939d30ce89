//! Optuna's Parzen estimator: a mixture of one kernel per observation plus a prior kernel, with
//! a product of per-parameter kernels (truncated normals for numbers, smoothed one-hot rows for
//! categoricals). Works on internal values (choice indices for categoricals).

use crate::tune::distributions::Distribution;
use crate::tune::normal;
use crate::tune::rng::Rng;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// Beyond this many standard deviations a tail mass is taken from the Mills-ratio asymptote
/// (relative error < 1e-2 on terms that are below 1e-30 of the prior kernel's).
const FAR: f64 = 12.0;

/// Kernel parameters of one numeric parameter, in the transformed (log when `log`) domain.
#[derive(Debug)]
struct NumericDim {
    log: bool,
    /// Grid step of int and stepped-float parameters.
    step: Option<f64>,
    /// Bounds of the parameter itself.
    low: f64,
    high: f64,
    /// Truncation bounds in the transformed domain (widened by step/2 for grids).
    t_low: f64,
    t_high: f64,
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    /// ln of each kernel's mass inside [t_low, t_high].
    log_norms: Vec<f64>,
    inv_sigmas: Vec<f64>,
    /// −ln σ − ln √(2π) − log_norm: the z-free part of a continuous kernel's log density.
    consts: Vec<f64>,
}

#[derive(Debug)]
struct CategoricalDim {
    n_choices: usize,
    /// Row-major n_kernels × n_choices probabilities, and their logarithms.
    probs: Vec<f64>,
    log_probs: Vec<f64>,
}

#[derive(Debug)]
enum Dim {
    Numeric(NumericDim),
    Categorical(CategoricalDim),
}

/// The estimator l(x) or g(x) of TPE.
#[derive(Debug)]
pub struct ParzenEstimator {
    weights: Vec<f64>,
    log_weights: Vec<f64>,
    dims: Vec<Dim>,
}

/// Settings shared by both estimators.
#[derive(Debug, Clone, Copy)]
pub struct ParzenSettings {
    pub prior_weight: f64,
    pub consider_magic_clip: bool,
    pub consider_endpoints: bool,
}

/// ln of the mass of N(0,1) in [a, b], with the asymptote for far tails.
fn log_mass_fast(a: f64, b: f64) -> f64 {
    if a > FAR {
        let tail = |z: f64| normal::log_pdf(z) - z.ln();
        let (ta, tb) = (tail(a), if b.is_finite() { tail(b) } else { f64::NEG_INFINITY });
        ta + (-(tb - ta).exp()).ln_1p()
    } else if b < -FAR {
        log_mass_fast(-b, -a)
    } else {
        normal::log_mass(a, b)
    }
}

/// A kernel's log mass on a grid cell for the mixture density. Cells more than `FAR` standard
/// deviations away get −z²/2, an overestimate by a few units of a term that is then over
/// e^60 below the prior kernel's (σ = the whole range, so never far) and cannot move the sum.
fn cell_log_mass(a: f64, b: f64) -> f64 {
    if a > FAR {
        -0.5 * a * a
    } else if b < -FAR {
        -0.5 * b * b
    } else {
        normal::log_mass(a, b)
    }
}

impl NumericDim {
    fn new(dist: &Distribution, observations: &[f64], settings: ParzenSettings) -> Self {
        let (low, high, log, step) = match *dist {
            Distribution::Float { low, high, log, step } => (low, high, log, step),
            Distribution::Int { low, high, log, step } => (low as f64, high as f64, log, Some(step as f64)),
            Distribution::Categorical { .. } => unreachable!("categorical handled apart"),
        };
        let half = step.map_or(0.0, |s| s / 2.0);
        let transform = |x: f64| if log { x.ln() } else { x };
        let (t_low, t_high) = (transform(low - half), transform(high + half));
        let mus: Vec<f64> = observations.iter().map(|&x| transform(x)).collect();
        let range = t_high - t_low;

        // σ_i = larger gap to a neighbour among the sorted observations, with the bounds as
        // outer neighbours; the outermost observations use their inner gap only.
        let mut sigmas = vec![0.0; mus.len()];
        if !mus.is_empty() {
            let mut order: Vec<usize> = (0..mus.len()).collect();
            order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
            let mut sorted = Vec::with_capacity(order.len() + 2);
            sorted.push(t_low);
            sorted.extend(order.iter().map(|&i| mus[i]));
            sorted.push(t_high);
            let m = order.len();
            for (pos, &idx) in order.iter().enumerate() {
                let s = pos + 1;
                sigmas[idx] = (sorted[s] - sorted[s - 1]).max(sorted[s + 1] - sorted[s]);
            }
            if !settings.consider_endpoints && sorted.len() >= 4 {
                sigmas[order[0]] = sorted[2] - sorted[1];
                sigmas[order[m - 1]] = sorted[m] - sorted[m - 1];
            }
            let min_sigma = if settings.consider_magic_clip { range / 100.0f64.min(1.0 + (mus.len() + 1) as f64) } else { 1e-12 };
            for s in &mut sigmas {
                *s = s.clamp(min_sigma, range);
            }
        }
        let mut mus = mus;
        mus.push(0.5 * (t_low + t_high));
        sigmas.push(range);
        let log_norms: Vec<f64> = mus
            .iter()
            .zip(&sigmas)
            .map(|(mu, sigma)| {
                let (a, b) = ((t_low - mu) / sigma, (t_high - mu) / sigma);
                if a < -FAR && b > FAR { 0.0 } else { log_mass_fast(a, b) }
            })
            .collect();
        let inv_sigmas: Vec<f64> = sigmas.iter().map(|s| 1.0 / s).collect();
        let consts = sigmas.iter().zip(&log_norms).map(|(s, n)| -s.ln() - LN_SQRT_2PI - n).collect();
        NumericDim { log, step, low, high, t_low, t_high, mus, sigmas, log_norms, inv_sigmas, consts }
    }

    fn sample(&self, k: usize, rng: &mut Rng) -> f64 {
        let (mu, sigma) = (self.mus[k], self.sigmas[k]);
        let z = normal::sample_truncated(rng, (self.t_low - mu) / sigma, (self.t_high - mu) / sigma);
        let t = mu + sigma * z;
        let x = if self.log { t.exp() } else { t };
        match self.step {
            Some(step) => (self.low + ((x - self.low) / step).round() * step).clamp(self.low, self.high),
            None => x.clamp(self.low, self.high),
        }
    }

    /// Adds ln of every kernel's density (or grid-cell mass) at `x` to `terms`.
    fn add_log_pdf(&self, x: f64, terms: &mut [f64]) {
        match self.step {
            None => {
                let t = if self.log { x.ln() } else { x };
                for (k, term) in terms.iter_mut().enumerate() {
                    let z = (t - self.mus[k]) * self.inv_sigmas[k];
                    *term += self.consts[k] - 0.5 * z * z;
                }
            }
            Some(step) => {
                let (a, b) = (x - step / 2.0, x + step / 2.0);
                let (ta, tb) = if self.log { (a.ln(), b.ln()) } else { (a, b) };
                for (k, term) in terms.iter_mut().enumerate() {
                    let (mu, inv) = (self.mus[k], self.inv_sigmas[k]);
                    *term += cell_log_mass((ta - mu) * inv, (tb - mu) * inv) - self.log_norms[k];
                }
            }
        }
    }
}

impl CategoricalDim {
    fn new(n_choices: usize, observations: &[f64], prior_weight: f64) -> Self {
        if observations.is_empty() {
            let probs = vec![1.0 / n_choices as f64; n_choices];
            return CategoricalDim { n_choices, log_probs: probs.iter().map(|p| p.ln()).collect(), probs };
        }
        let n_kernels = observations.len() + 1;
        let base = prior_weight / n_kernels as f64;
        let mut probs = vec![base; n_kernels * n_choices];
        for (k, &obs) in observations.iter().enumerate() {
            probs[k * n_choices + obs as usize] += 1.0;
        }
        for row in probs.chunks_mut(n_choices) {
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|p| *p /= sum);
            }
        }
        CategoricalDim { n_choices, log_probs: probs.iter().map(|p| p.ln()).collect(), probs }
    }
}

impl ParzenEstimator {
    /// `observations[d]` are the internal values of dimension `d` (one per observation), with
    /// `obs_weights` (one per observation, before the prior's weight is appended).
    pub fn new(space: &[&Distribution], observations: &[Vec<f64>], obs_weights: &[f64], settings: ParzenSettings) -> Self {
        let mut weights: Vec<f64> = if obs_weights.is_empty() { vec![1.0] } else { obs_weights.iter().copied().chain([settings.prior_weight]).collect() };
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        let dims = space
            .iter()
            .zip(observations)
            .map(|(dist, obs)| match dist {
                Distribution::Categorical { choices } => Dim::Categorical(CategoricalDim::new(choices.len(), obs, settings.prior_weight)),
                numeric => Dim::Numeric(NumericDim::new(numeric, obs, settings)),
            })
            .collect();
        ParzenEstimator { weights, log_weights, dims }
    }

    /// `n` joint samples, each a vector of internal values.
    pub fn sample(&self, rng: &mut Rng, n: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let k = rng.weighted_index(&self.weights);
                self.dims
                    .iter()
                    .map(|dim| match dim {
                        Dim::Numeric(d) => d.sample(k, rng),
                        Dim::Categorical(c) => rng.weighted_index(&c.probs[k * c.n_choices..(k + 1) * c.n_choices]) as f64,
                    })
                    .collect()
            })
            .collect()
    }

    /// ln of the mixture density at each sample. Grid and categorical columns are computed
    /// once per distinct value (candidates often share them).
    pub fn log_pdf(&self, samples: &[Vec<f64>]) -> Vec<f64> {
        let n_kernels = self.weights.len();
        let mut terms: Vec<Vec<f64>> = vec![self.log_weights.clone(); samples.len()];
        let mut column = vec![0.0; n_kernels];
        for (d, dim) in self.dims.iter().enumerate() {
            match dim {
                Dim::Numeric(num) if num.step.is_none() => {
                    for (x, t) in samples.iter().zip(terms.iter_mut()) {
                        num.add_log_pdf(x[d], t);
                    }
                }
                _ => {
                    let mut done: Vec<(f64, Vec<f64>)> = Vec::new();
                    for (x, t) in samples.iter().zip(terms.iter_mut()) {
                        let v = x[d];
                        if let Some((_, col)) = done.iter().find(|(u, _)| *u == v) {
                            t.iter_mut().zip(col).for_each(|(a, b)| *a += b);
                            continue;
                        }
                        match dim {
                            Dim::Numeric(num) => {
                                column.iter_mut().for_each(|c| *c = 0.0);
                                num.add_log_pdf(v, &mut column);
                            }
                            Dim::Categorical(c) => {
                                let idx = v as usize;
                                column.iter_mut().enumerate().for_each(|(k, out)| *out = c.log_probs[k * c.n_choices + idx]);
                            }
                        }
                        t.iter_mut().zip(&column).for_each(|(a, b)| *a += b);
                        done.push((v, column.clone()));
                    }
                }
            }
        }
        terms.iter().map(|t| log_sum_exp(t)).collect()
    }
}

/// ln Σ e^t, skipping terms that cannot change the sum in double precision.
fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = terms.iter().filter(|t| **t > max - 40.0).map(|t| (t - max).exp()).sum();
    max + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: ParzenSettings = ParzenSettings { prior_weight: 1.0, consider_magic_clip: true, consider_endpoints: false };

    #[test]
    fn continuous_density_integrates_to_one() {
        let dist = Distribution::float("x", -5.0, 10.0, false, None).unwrap();
        let pe = ParzenEstimator::new(&[&dist], &[vec![0.0, 1.0, 9.5]], &[1.0, 1.0, 1.0], SETTINGS);
        let n = 20_000;
        let h = 15.0 / n as f64;
        let xs: Vec<Vec<f64>> = (0..n).map(|i| vec![-5.0 + (i as f64 + 0.5) * h]).collect();
        let integral: f64 = pe.log_pdf(&xs).iter().map(|l| l.exp() * h).sum();
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
    }

    #[test]
    fn grid_masses_sum_to_one() {
        let dist = Distribution::int("h", 64, 512, false, 64).unwrap();
        let pe = ParzenEstimator::new(&[&dist], &[vec![128.0, 320.0]], &[1.0, 1.0], SETTINGS);
        let xs: Vec<Vec<f64>> = (0..8).map(|i| vec![64.0 + 64.0 * i as f64]).collect();
        let total: f64 = pe.log_pdf(&xs).iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let log_dist = Distribution::int("n", 1, 100, true, 1).unwrap();
        let pe = ParzenEstimator::new(&[&log_dist], &[vec![3.0, 50.0]], &[1.0, 1.0], SETTINGS);
        let xs: Vec<Vec<f64>> = (1..=100).map(|i| vec![i as f64]).collect();
        let total: f64 = pe.log_pdf(&xs).iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn categorical_rows_follow_optuna() {
        let dist = Distribution::categorical("c", vec![16.into(), 32.into(), 64.into()]).unwrap();
        let pe = ParzenEstimator::new(&[&dist], &[vec![1.0]], &[1.0], SETTINGS);
        // Kernel 0: (1 + 1/2) on choice 1, 1/2 elsewhere, normalised: [0.2, 0.6, 0.2]; prior uniform.
        // Mixture weights [1/2, 1/2] → p(1) = 0.5·0.6 + 0.5/3.
        let lp = pe.log_pdf(&[vec![1.0]])[0];
        assert!((lp.exp() - (0.3 + 0.5 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn samples_respect_bounds_and_grids() {
        let dists = [
            Distribution::float("a", 1e-5, 1e-2, true, None).unwrap(),
            Distribution::int("b", 64, 512, false, 64).unwrap(),
            Distribution::float("c", 0.0, 0.5, false, Some(0.1)).unwrap(),
        ];
        let refs: Vec<&Distribution> = dists.iter().collect();
        let obs = vec![vec![1e-3, 1e-2], vec![64.0, 512.0], vec![0.0, 0.5]];
        let pe = ParzenEstimator::new(&refs, &obs, &[1.0, 1.0], SETTINGS);
        let mut rng = Rng::seed_from(5);
        for x in pe.sample(&mut rng, 2000) {
            for (d, v) in dists.iter().zip(&x) {
                assert!(d.contains(*v), "{v} not in {d}");
            }
        }
    }
}
