//! Optuna's Parzen estimator: a mixture of one kernel per observation plus a prior kernel, with
//! a product of per-parameter kernels (truncated normals for numbers, smoothed one-hot rows for
//! categoricals). Works on internal values (choice indices for categoricals).

use crate::tune::distributions::Distribution;
use crate::tune::memo::PairMemo;
use crate::tune::normal;
use crate::tune::rng::Rng;
use std::cell::RefCell;

mod bandwidths;
mod density;
mod exp;

use bandwidths::{bandwidths, sorted_by_value};
pub(super) use bandwidths::value_key;
pub use density::{Bound, MixtureTerms};

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// Beyond this many standard deviations a tail mass is taken from the Mills-ratio asymptote
/// (relative error < 1e-2 on terms that are below 1e-30 of the prior kernel's).
const FAR: f64 = 12.0;

/// Within this many standard deviations of neither bound, a kernel's mass inside the bounds is 1
/// to double precision (Φ(−8.5) < 2⁻⁵⁴), so its logarithm is exactly 0 and needs no erfc.
const FULL_MASS: f64 = 8.5;

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
    inv_sigmas: Vec<f64>,
    /// Continuous parameters: −ln √(2π) − ln(mass inside the bounds) of each kernel; with −ln σ
    /// (taken in the estimator's per-kernel constants) the z-free part of its log density.
    norm_consts: Vec<f64>,
    /// Grid parameters: the distinct kernels (observations share grid points, so there are few).
    grid: Option<GridKernels>,
}

/// Distinct (μ, σ) kernels of a grid parameter and which one each kernel is.
#[derive(Debug, Default)]
struct GridKernels {
    mus: Vec<f64>,
    inv_sigmas: Vec<f64>,
    /// ln of each distinct kernel's mass inside the widened bounds.
    log_norms: Vec<f64>,
    of_kernel: Vec<u32>,
}

/// Smoothed one-hot rows: every observation of the same choice has the same row, so rows are
/// stored once per choice (plus the prior's) and kernels point at theirs.
#[derive(Debug)]
struct CategoricalDim {
    n_choices: usize,
    /// Row-major rows × n_choices probabilities, and their logarithms.
    probs: Vec<f64>,
    log_probs: Vec<f64>,
    row_of_kernel: Vec<u32>,
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
    /// Per kernel, the part of its log term that does not depend on the sample: ln w minus
    /// ln σ and the normalisation of each continuous dimension.
    log_consts: Vec<f64>,
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

/// ln of a kernel's mass inside its truncation bounds (standardised a < b).
fn log_norm(a: f64, b: f64) -> f64 {
    if a < -FULL_MASS && b > FULL_MASS { 0.0 } else { KERNEL_MASSES.with_borrow_mut(|memo| memo.get_or(a, b, log_mass_fast)) }
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

thread_local! {
    /// Grid kernels' log masses on cells.
    static CELL_MASSES: RefCell<PairMemo> = RefCell::new(PairMemo::new(1024));
    /// Kernels' log masses inside their truncation bounds (g has one kernel per trial).
    static KERNEL_MASSES: RefCell<PairMemo> = RefCell::new(PairMemo::new(4096));
}

impl NumericDim {
    /// `points` are the observations in the transformed domain; `order`, if given, lists them
    /// sorted by value (ties in any order); if it does not sort them, they are sorted here.
    fn new(dist: &Distribution, points: &[f64], order: Option<&[u32]>, settings: ParzenSettings) -> Self {
        let (low, high, log, step) = match *dist {
            Distribution::Float { low, high, log, step } => (low, high, log, step),
            Distribution::Int { low, high, log, step } => (low as f64, high as f64, log, Some(step as f64)),
            Distribution::Categorical { .. } => unreachable!("categorical handled apart"),
        };
        let half = step.map_or(0.0, |s| s / 2.0);
        let transform = |x: f64| if log { x.ln() } else { x };
        let (t_low, t_high) = (transform(low - half), transform(high + half));
        // Room for the prior kernel, appended below.
        let mut mus = Vec::with_capacity(points.len() + 1);
        mus.extend_from_slice(points);
        let range = t_high - t_low;
        let given = order.and_then(|order| Some((order, bandwidths(&mus, order, t_low, t_high, settings)?)));
        let (order, mut sigmas) = match given {
            Some((order, sigmas)) => (std::borrow::Cow::Borrowed(order), sigmas),
            None => {
                let order = sorted_by_value(&mus);
                let sigmas = bandwidths(&mus, &order, t_low, t_high, settings).expect("sorted by value");
                (std::borrow::Cow::Owned(order), sigmas)
            }
        };
        mus.push(0.5 * (t_low + t_high));
        sigmas.push(range);
        let inv_sigmas: Vec<f64> = sigmas.iter().map(|s| 1.0 / s).collect();
        let standardised = |k: usize| ((t_low - mus[k]) * inv_sigmas[k], (t_high - mus[k]) * inv_sigmas[k]);
        let (norm_consts, grid) = if step.is_none() {
            let norm_consts = (0..mus.len())
                .map(|k| {
                    let (a, b) = standardised(k);
                    -LN_SQRT_2PI - log_norm(a, b)
                })
                .collect();
            (norm_consts, None)
        } else {
            // Kernels are visited in sorted order, so equal (μ, σ) pairs are found among the
            // distinct kernels of the current μ only.
            let mut grid = GridKernels { of_kernel: vec![0; mus.len()], ..GridKernels::default() };
            let mut run_start = 0;
            for k in order.iter().map(|&i| i as usize).chain([mus.len() - 1]) {
                if grid.mus.last() != Some(&mus[k]) {
                    run_start = grid.mus.len();
                }
                let found = (run_start..grid.mus.len()).find(|&d| grid.mus[d] == mus[k] && grid.inv_sigmas[d] == inv_sigmas[k]);
                grid.of_kernel[k] = match found {
                    Some(d) => d as u32,
                    None => {
                        let (a, b) = standardised(k);
                        grid.mus.push(mus[k]);
                        grid.inv_sigmas.push(inv_sigmas[k]);
                        grid.log_norms.push(log_norm(a, b));
                        (grid.mus.len() - 1) as u32
                    }
                };
            }
            (Vec::new(), Some(grid))
        };
        NumericDim { log, step, low, high, t_low, t_high, mus, sigmas, inv_sigmas, norm_consts, grid }
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

    /// ln of each distinct grid kernel's mass on the cell of grid value `x`.
    fn grid_cell_log_masses(&self, grid: &GridKernels, x: f64, out: &mut Vec<f64>) {
        let step = self.step.expect("grid parameters have a step");
        let (a, b) = (x - step / 2.0, x + step / 2.0);
        let (ta, tb) = if self.log { (a.ln(), b.ln()) } else { (a, b) };
        out.clear();
        CELL_MASSES.with_borrow_mut(|memo| out.extend(grid.mus.iter().zip(&grid.inv_sigmas).zip(&grid.log_norms).map(|((mu, inv), norm)| memo.get_or((ta - mu) * inv, (tb - mu) * inv, cell_log_mass) - norm)));
    }
}

impl CategoricalDim {
    fn new(n_choices: usize, observations: &[f64], prior_weight: f64) -> Self {
        if observations.is_empty() {
            let probs = vec![1.0 / n_choices as f64; n_choices];
            return CategoricalDim { n_choices, log_probs: probs.iter().map(|p| p.ln()).collect(), probs, row_of_kernel: vec![0] };
        }
        // Row c (< n_choices): an observation of choice c, (1 + w/n) there and w/n elsewhere;
        // row n_choices: the prior, uniform.
        let n_kernels = observations.len() + 1;
        let base = prior_weight / n_kernels as f64;
        let mut probs = vec![base; (n_choices + 1) * n_choices];
        for c in 0..n_choices {
            probs[c * n_choices + c] += 1.0;
        }
        for row in probs.chunks_mut(n_choices) {
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|p| *p /= sum);
            }
        }
        let row_of_kernel = observations.iter().map(|&c| c as u32).chain([n_choices as u32]).collect();
        CategoricalDim { n_choices, log_probs: probs.iter().map(|p| p.ln()).collect(), probs, row_of_kernel }
    }

    fn row(&self, k: usize) -> std::ops::Range<usize> {
        let r = self.row_of_kernel[k] as usize * self.n_choices;
        r..r + self.n_choices
    }
}

/// ln(w / Π σ) + Σ norm_const over the continuous dimensions, for each kernel: one logarithm of
/// the product instead of one per factor, unless the product leaves the normal range.
fn kernel_log_consts(weights: &[f64], dims: &[Dim]) -> Vec<f64> {
    let continuous: Vec<&NumericDim> = dims.iter().filter_map(|d| match d {
        Dim::Numeric(num) if num.grid.is_none() => Some(num),
        _ => None,
    }).collect();
    (0..weights.len())
        .map(|k| {
            let scale = continuous.iter().fold(weights[k], |p, dim| p * dim.inv_sigmas[k]);
            let log_scale = if scale.is_normal() { scale.ln() } else { continuous.iter().fold(weights[k].ln(), |sum, dim| sum - dim.sigmas[k].ln()) };
            continuous.iter().fold(log_scale, |sum, dim| sum + dim.norm_consts[k])
        })
        .collect()
}

impl ParzenEstimator {
    /// `observations[d]` are the internal values of dimension `d` (one per observation), with
    /// `obs_weights` (one per observation, before the prior's weight is appended).
    #[cfg(test)]
    pub fn new(space: &[&Distribution], observations: &[Vec<f64>], obs_weights: &[f64], settings: ParzenSettings) -> Self {
        let points: Vec<Vec<f64>> = space.iter().zip(observations).map(|(dist, obs)| obs.iter().map(|&x| if dist.is_log() { x.ln() } else { x }).collect()).collect();
        Self::with_orders(space, &points, &[], obs_weights, settings)
    }

    /// `new`, given dimension `d`'s observations in the estimator's domain (`points[d]`: internal
    /// values, logarithms for log-scaled parameters) and for some numeric dimensions their
    /// positions sorted by value (`orders[d]`, ties in any order; missing or empty: sorted here).
    pub fn with_orders(space: &[&Distribution], points: &[Vec<f64>], orders: &[Vec<u32>], obs_weights: &[f64], settings: ParzenSettings) -> Self {
        let mut weights: Vec<f64> = if obs_weights.is_empty() { vec![1.0] } else { obs_weights.iter().copied().chain([settings.prior_weight]).collect() };
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let dims: Vec<Dim> = space
            .iter()
            .zip(points)
            .enumerate()
            .map(|(d, (dist, points))| match dist {
                Distribution::Categorical { choices } => Dim::Categorical(CategoricalDim::new(choices.len(), points, settings.prior_weight)),
                numeric => Dim::Numeric(NumericDim::new(numeric, points, orders.get(d).filter(|o| !o.is_empty()).map(Vec::as_slice), settings)),
            })
            .collect();
        let log_consts = kernel_log_consts(&weights, &dims);
        ParzenEstimator { weights, log_consts, dims }
    }

    /// `n` joint samples of internal values, one after another (a row of one value per dimension
    /// each). Each sample comes from one kernel, or with `recombine` each of its values from a
    /// kernel of its own (see `TpeProposal`).
    pub fn sample(&self, rng: &mut Rng, n: usize, recombine: bool) -> Vec<f64> {
        let mut rows = Vec::with_capacity(n * self.dims.len());
        for _ in 0..n {
            let joint = (!recombine).then(|| rng.weighted_index(&self.weights));
            rows.extend(self.dims.iter().map(|dim| {
                let k = joint.unwrap_or_else(|| rng.weighted_index(&self.weights));
                match dim {
                    Dim::Numeric(d) => d.sample(k, rng),
                    Dim::Categorical(c) => rng.weighted_index(&c.probs[c.row(k)]) as f64,
                }
            }));
        }
        rows
    }
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
    fn batch_density_matches_one_sample_at_a_time() {
        // Repeated samples share one evaluation; every sample must still get its own bits, the
        // same as when it is evaluated alone, and lie between its floor (at least its largest
        // term) and its ceiling.
        let dists = [Distribution::float("a", 1e-5, 1e-2, true, None).unwrap(), Distribution::int("b", 64, 512, false, 64).unwrap(), Distribution::categorical("c", vec![1.into(), 2.into()]).unwrap()];
        let refs: Vec<&Distribution> = dists.iter().collect();
        let obs = vec![(0..150).map(|i| 1e-5 * 1.04f64.powi(i)).collect(), (0..150).map(|i| 64.0 * (1 + i % 8) as f64).collect(), (0..150).map(|i| (i % 2) as f64).collect()];
        let pe = ParzenEstimator::new(&refs, &obs, &vec![1.0; 150], SETTINGS);
        let mut samples: Vec<Vec<f64>> = pe.sample(&mut Rng::seed_from(4), 30, false).chunks_exact(3).map(<[f64]>::to_vec).collect();
        samples[7] = samples[2].clone();
        samples[29] = samples[2].clone();
        let batch = pe.log_pdf(&samples);
        let (below, above) = (pe.log_terms(&samples, Bound::Below), pe.log_terms(&samples, Bound::Above));
        for (s, x) in samples.iter().enumerate() {
            assert_eq!(batch[s].to_bits(), pe.log_pdf(std::slice::from_ref(x))[0].to_bits(), "sample {s}");
            let (floor, ceiling) = (below.log_density_bound(s), above.log_density_bound(s));
            assert!(below.largest(s) <= floor && floor <= batch[s] && batch[s] <= ceiling, "sample {s}: {} {floor} {} {ceiling}", below.largest(s), batch[s]);
        }
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
    fn mixed_space_density_matches_optunas() {
        // Optuna 5.0.0's `_ParzenEstimator(...).log_pdf` on the same 30 observations (so the
        // weights ramp), prior weight 1, magic clip, multivariate: a log float, a categorical,
        // a stepped int, a float and a log int. Agreement to 1e-11 (relative): the two compute
        // Gaussian masses by different formulas.
        let mut dists = crate::tune::samplers::tpe::tests::mlp_mixed_space();
        dists.push(Distribution::int("n", 1, 100, true, 1).unwrap());
        let refs: Vec<&Distribution> = dists.iter().collect();
        let observations = vec![
            vec![
                0.00044915238251379947, 0.0013318136687429966, 7.459577266393838e-05, 0.0003407868400892514, 0.004773543263868112, 0.004885165336171604,
                2.3809810087779452e-05, 4.185319668991116e-05, 1.4269265210969527e-05, 0.00021010168283379813, 1.229217211548788e-05, 0.00023469274965727676,
                0.0008859967786158749, 6.846393360094252e-05, 0.0010684758386306267, 0.0005923637206170249, 1.1801729252831888e-05, 0.00047485636531424447,
                5.994560404174373e-05, 0.00017591529098468476, 7.088841161794692e-05, 0.0012006426178129766, 0.00020958546137692425, 2.9553111710693308e-05,
                0.00043047412713693366, 0.0021925236847600373, 8.300238987470534e-05, 4.6331210989816636e-05, 0.0001458524647623912, 0.006443932010830324,
            ],
            [0, 2, 0, 0, 1, 2, 0, 1, 0, 0, 1, 1, 2, 1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0, 2, 2, 0, 1, 1].map(f64::from).to_vec(),
            [7, 1, 6, 2, 5, 2, 5, 3, 3, 5, 5, 3, 1, 5, 1, 4, 3, 7, 1, 5, 4, 2, 6, 2, 1, 1, 8, 6, 1, 1].map(|k| 64.0 * f64::from(k)).to_vec(),
            vec![
                0.07129967235598311, 0.15113180593652803, 0.403511337830136, 0.15974751573273616, 0.010612870348533643, 0.2412229018303635, 0.013013134613406419,
                0.25278702927786334, 0.45901501028487, 0.10348306621227193, 0.4628663922569235, 0.13866152315950403, 0.08803105783410736, 0.495150592551024,
                0.3463253085661451, 0.3760700134682571, 0.05810829321971095, 0.04300035890974563, 0.33281230435375786, 0.16478567771993452, 0.18082531059973161,
                0.2630555006261418, 0.21236497881533828, 0.4098903642564753, 0.28564237328737785, 0.4405553694078324, 0.4003017576117187, 0.17496261278075098,
                0.38636934258165173, 0.448248330183235,
            ],
            [10, 27, 51, 61, 6, 85, 96, 82, 10, 33, 14, 45, 72, 93, 37, 43, 73, 27, 25, 21, 63, 45, 31, 18, 33, 54, 87, 40, 61, 96].map(f64::from).to_vec(),
        ];
        let pe = ParzenEstimator::new(&refs, &observations, &crate::tune::samplers::tpe::default_weights(30), SETTINGS);
        let samples = [vec![1e-3, 1.0, 320.0, 0.25, 7.0], vec![2e-5, 0.0, 64.0, 0.0, 1.0], vec![9e-3, 2.0, 512.0, 0.49, 100.0]];
        let optuna = [-11.23552463283065, -9.56191990522402, -14.333404695672417];
        for (ours, theirs) in pe.log_pdf(&samples).into_iter().zip(optuna) {
            assert!((ours - theirs).abs() < 1e-11 * theirs.abs(), "{ours} vs Optuna's {theirs}");
        }
    }

    #[test]
    fn recombined_samples_mix_the_kernels_coordinates() {
        // Two tight clusters of good points in 6 dimensions, all coordinates low or all high:
        // a joint sample stays in one cluster (but for the prior and the clusters' edge kernels),
        // a recombined one takes each coordinate from a kernel of its own.
        let dist = Distribution::float("x", 0.0, 1.0, false, None).unwrap();
        let refs = [&dist; 6];
        let column: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { 0.1 } else { 0.9 }).collect();
        let pe = ParzenEstimator::new(&refs, &vec![column; 6], &[1.0; 40], SETTINGS);
        let mixed_share = |recombine: bool| {
            let samples = pe.sample(&mut Rng::seed_from(8), 500, recombine);
            let mixed = samples.chunks_exact(6).filter(|x| x.iter().any(|v| *v < 0.5) && x.iter().any(|v| *v >= 0.5)).count();
            mixed as f64 / 500.0
        };
        let (joint, recombined) = (mixed_share(false), mixed_share(true));
        assert!(joint < 0.2 && recombined > 0.8, "joint {joint}, recombined {recombined}");
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
        for recombine in [false, true] {
            for x in pe.sample(&mut rng, 1000, recombine).chunks_exact(3) {
                for (d, v) in dists.iter().zip(x) {
                    assert!(d.contains(*v), "{v} not in {d}");
                }
            }
        }
    }
}
