//! The mixture's log density at a batch of samples. Terms are laid out kernel-major (one row of
//! samples per kernel) and filled a block of kernels at a time, so that each kernel's parameters
//! are loaded once per batch instead of once per sample while the block stays in the L1 cache;
//! each term is built in registers, eight samples at a time. Every term still gets the same
//! floating-point operations in the same order (kernel constant, then each dimension's addend in
//! dimension order), and each sample's sum runs in kernel order, so the results are those of a
//! sample-at-a-time evaluation bit for bit. Alongside, each sample's log density is bounded from
//! below or from above (`Bound`) without an exponential per term.

use super::exp::exp_nonpositive;
use super::{Dim, NumericDim, ParzenEstimator};
use std::cell::{OnceCell, RefCell};

/// Kernels per block: 64 kernels × 24 samples of f64 take 12 KiB.
const KERNEL_BLOCK: usize = 64;

/// Terms below the largest by more than this are left out of the sum (e^−40 < 2⁻⁵⁷).
const NEGLIGIBLE_LOG_RATIO: f64 = 40.0;

/// One dimension's addend to every term, prepared for the batch of samples.
enum Addend<'a> {
    /// A continuous parameter: each kernel adds c − z²/2 at the sample's transformed value.
    Continuous { dim: &'a NumericDim, points: Vec<f64> },
    /// A grid or categorical parameter: a kernel of shape i (a distinct grid kernel, or a row of
    /// choice probabilities) adds row i of `by_shape`: per sample, the log mass of its cell or
    /// choice under that shape. Rows are contiguous per shape so the kernel loop is a plain
    /// vector addition.
    Lookup { shape_of_kernel: &'a [u32], by_shape: Vec<f64> },
}

/// Which bound of each sample's log density `MixtureTerms` keeps at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A floor, from `exp_floor` (g's side of TPE's ratio).
    Below,
    /// A ceiling, from `exp_ceiling` (l's side).
    Above,
}

/// The mixture's log terms (log weight plus each dimension's log kernel density) at a batch of
/// samples. A bound of each sample's log density is at hand without an exponential per term; the
/// exact log density is computed on demand, once per distinct sample
/// (draws of grid and categorical parameters often repeat, and equal inputs give equal bits).
pub struct MixtureTerms {
    /// One row per kernel, of one term per distinct sample.
    terms: Vec<f64>,
    n_distinct: usize,
    /// Per distinct sample: its largest term, a bound of Σ e^(term − largest) (at least 1) and,
    /// once asked, its log density.
    bound: Bound,
    maxima: Vec<f64>,
    masses: Vec<f64>,
    log_densities: Vec<OnceCell<f64>>,
    /// Room for one sample's kept terms, reused from sample to sample.
    scratch: RefCell<Vec<f64>>,
    /// Per sample, which distinct sample it is.
    distinct_of: Vec<usize>,
}

thread_local! {
    /// The terms buffer of the last batch, kept for the next: it is the largest allocation of an
    /// ask (24 samples × the kernels of g), large enough that the allocator would map fresh pages
    /// for it every time.
    static SPARE_TERMS: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty buffer with room for `capacity` terms, the spare one if there is one.
fn spare_terms(capacity: usize) -> Vec<f64> {
    let mut terms = SPARE_TERMS.take();
    terms.clear();
    terms.reserve(capacity);
    terms
}

impl Drop for MixtureTerms {
    fn drop(&mut self) {
        let terms = std::mem::take(&mut self.terms);
        // Keep the larger of the two (l's batch is small, g's large).
        SPARE_TERMS.with(|spare| {
            let kept = spare.take();
            spare.set(if kept.capacity() >= terms.capacity() { kept } else { terms });
        });
    }
}

impl MixtureTerms {
    /// The largest term of sample `s`.
    #[cfg(test)]
    pub fn largest(&self, s: usize) -> f64 {
        self.maxima[self.distinct_of[s]]
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.distinct_of.len()
    }

    /// The bound of the log density at sample `s` asked for, at least its largest term, found
    /// without an exponential per term. Moved outwards by a relative 1e−9 so that it stays beyond
    /// the exact value's rounding.
    pub fn log_density_bound(&self, s: usize) -> f64 {
        let d = self.distinct_of[s];
        match self.bound {
            Bound::Below => self.maxima[d] + (self.masses[d] * (1.0 - 1e-9)).ln().max(0.0),
            Bound::Above => self.maxima[d] + (self.masses[d] * (1.0 + 1e-9)).ln(),
        }
    }

    /// ln of the mixture density at sample `s`.
    pub fn log_density(&self, s: usize) -> f64 {
        let d = self.distinct_of[s];
        *self.log_densities[d].get_or_init(|| log_sum_exp(self.terms.iter().skip(d).step_by(self.n_distinct), self.maxima[d], &mut self.scratch.borrow_mut()))
    }
}

impl ParzenEstimator {
    /// ln of the mixture density at each sample.
    #[cfg(test)]
    pub fn log_pdf<S: AsRef<[f64]>>(&self, samples: &[S]) -> Vec<f64> {
        let terms = self.log_terms(samples, Bound::Below);
        (0..samples.len()).map(|s| terms.log_density(s)).collect()
    }

    /// The log terms at each sample, with `bound` of each log density. Grid columns are computed
    /// once per distinct value (samples often share them) and per distinct kernel.
    pub fn log_terms<S: AsRef<[f64]>>(&self, samples: &[S], bound: Bound) -> MixtureTerms {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, as just checked.
            return unsafe { self.log_terms_avx2(samples, bound) };
        }
        self.log_terms_on_any_cpu(samples, bound)
    }

    /// The same code with 4-wide vectors: every term gets the same operations, so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn log_terms_avx2<S: AsRef<[f64]>>(&self, samples: &[S], bound: Bound) -> MixtureTerms {
        self.log_terms_on_any_cpu(samples, bound)
    }

    #[inline(always)]
    fn log_terms_on_any_cpu<S: AsRef<[f64]>>(&self, samples: &[S], bound: Bound) -> MixtureTerms {
        // Equal samples (bit for bit) share a column, found through a hash table of the
        // distinct samples so far (open addressing, at most half full).
        let same_bits = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits());
        let hash = |x: &[f64]| x.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, v| (h ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01B3));
        let mask = (2 * samples.len()).next_power_of_two() - 1;
        let mut slots = vec![usize::MAX; mask + 1];
        let mut distinct: Vec<&[f64]> = Vec::with_capacity(samples.len());
        let distinct_of: Vec<usize> = samples
            .iter()
            .map(|x| {
                let x = x.as_ref();
                // The hash's top bits are its best mixed.
                let mut slot = (hash(x) >> 40) as usize & mask;
                loop {
                    match slots[slot] {
                        usize::MAX => {
                            slots[slot] = distinct.len();
                            distinct.push(x);
                            return distinct.len() - 1;
                        }
                        d if same_bits(distinct[d], x) => return d,
                        _ => slot = (slot + 1) & mask,
                    }
                }
            })
            .collect();
        let n_distinct = distinct.len();
        let n_kernels = self.log_consts.len();
        let mut maxima = vec![f64::NEG_INFINITY; n_distinct];
        let mut masses = vec![0.0; n_distinct];
        let mut terms = spare_terms(n_kernels * n_distinct);
        if n_distinct > 0 {
            let addends: Vec<Addend<'_>> = self
                .dims
                .iter()
                .enumerate()
                .map(|(d, dim)| {
                    let values: Vec<f64> = distinct.iter().map(|x| x[d]).collect();
                    self.addend(dim, &values)
                })
                .collect();
            let (mut block_max, mut block_mass) = (vec![f64::NEG_INFINITY; n_distinct], vec![0.0; n_distinct]);
            let mut parts = Vec::with_capacity(addends.len());
            for block_start in (0..n_kernels).step_by(KERNEL_BLOCK) {
                let kernels = block_start..(block_start + KERNEL_BLOCK).min(n_kernels);
                // The block is filled in place, where it stays: the rows of these kernels.
                let offset = terms.len();
                terms.resize(offset + kernels.len() * n_distinct, 0.0);
                let block = &mut terms[offset..];
                block_max.fill(f64::NEG_INFINITY);
                for (row, k) in block.chunks_exact_mut(n_distinct).zip(kernels.clone()) {
                    parts.clear();
                    parts.extend(addends.iter().map(|addend| addend.of_kernel(k, n_distinct)));
                    fill_row(row, self.log_consts[k], &parts, &mut block_max);
                }
                block_mass.fill(0.0);
                for row in block.chunks_exact(n_distinct) {
                    let shares = block_mass.iter_mut().zip(row).zip(&block_max);
                    // One loop per bound, so that each is a plain vector loop.
                    match bound {
                        Bound::Below => shares.for_each(|((a, &t), &m)| *a += exp_floor(t - m)),
                        Bound::Above => shares.for_each(|((a, &t), &m)| *a += exp_ceiling(t - m)),
                    }
                }
                for s in 0..n_distinct {
                    let merged = maxima[s].max(block_max[s]);
                    if merged > f64::NEG_INFINITY {
                        masses[s] = rescaled(masses[s], maxima[s] - merged) + rescaled(block_mass[s], block_max[s] - merged);
                        maxima[s] = merged;
                    }
                }
            }
        }
        MixtureTerms { terms, n_distinct, bound, maxima, masses, log_densities: vec![OnceCell::new(); n_distinct], scratch: RefCell::default(), distinct_of }
    }

    fn addend<'a>(&'a self, dim: &'a Dim, values: &[f64]) -> Addend<'a> {
        match dim {
            Dim::Numeric(num) => match &num.grid {
                None => Addend::Continuous { dim: num, points: values.iter().map(|&v| if num.log { v.ln() } else { v }).collect() },
                Some(grid) => {
                    // One column of masses per distinct sample value.
                    let mut seen: Vec<f64> = Vec::new();
                    let mut columns: Vec<Vec<f64>> = Vec::new();
                    let column_of_sample: Vec<usize> = values
                        .iter()
                        .map(|&v| {
                            seen.iter().position(|u| *u == v).unwrap_or_else(|| {
                                let mut column = Vec::new();
                                num.grid_cell_log_masses(grid, v, &mut column);
                                columns.push(column);
                                seen.push(v);
                                seen.len() - 1
                            })
                        })
                        .collect();
                    // Shape-major: each distinct kernel's masses at every sample, in sample order.
                    let columns = &columns;
                    let mut by_shape = Vec::with_capacity(grid.mus.len() * values.len());
                    by_shape.extend((0..grid.mus.len()).flat_map(|shape| column_of_sample.iter().map(move |&c| columns[c][shape])));
                    Addend::Lookup { shape_of_kernel: &grid.of_kernel, by_shape }
                }
            },
            Dim::Categorical(c) => {
                // Row r of the row-major probabilities, at each sample's choice.
                let mut by_shape = Vec::with_capacity(c.log_probs.len() / c.n_choices * values.len());
                for row in c.log_probs.chunks_exact(c.n_choices) {
                    by_shape.extend(values.iter().map(|&v| row[v as usize]));
                }
                Addend::Lookup { shape_of_kernel: &c.row_of_kernel, by_shape }
            }
        }
    }
}

/// One dimension's addend for one kernel.
#[derive(Clone, Copy)]
enum KernelAddend<'a> {
    /// −(t − μ)² · (1/σ)²/2 at each sample's transformed value t.
    Continuous { mu: f64, half_precision: f64, points: &'a [f64] },
    /// The kernel's shape's row of per-sample addends.
    Lookup { row: &'a [f64] },
}

impl Addend<'_> {
    /// This dimension's addend for kernel `k`.
    #[inline(always)]
    fn of_kernel(&self, k: usize, n_samples: usize) -> KernelAddend<'_> {
        match self {
            Addend::Continuous { dim, points } => {
                let inv = dim.inv_sigmas[k];
                KernelAddend::Continuous { mu: dim.mus[k], half_precision: 0.5 * inv * inv, points }
            }
            Addend::Lookup { shape_of_kernel, by_shape } => KernelAddend::Lookup { row: &by_shape[shape_of_kernel[k] as usize * n_samples..][..n_samples] },
        }
    }
}

/// Samples per step of `fill_row`: two 4-wide vectors.
const LANES: usize = 8;

/// Fills one kernel's row of terms (its constant, then each dimension's addend in dimension
/// order) and raises the running maxima to them. Each term is built in registers, a few samples
/// at a time, with the operations of one-dimension-at-a-time code in the same order.
#[inline(always)]
fn fill_row(row: &mut [f64], log_const: f64, parts: &[KernelAddend<'_>], max: &mut [f64]) {
    let n = row.len();
    let mut start = 0;
    while start + LANES <= n {
        let mut acc = [log_const; LANES];
        for part in parts {
            match *part {
                KernelAddend::Continuous { mu, half_precision, points } => {
                    for (a, &t) in acc.iter_mut().zip(&points[start..start + LANES]) {
                        let d = t - mu;
                        *a -= d * d * half_precision;
                    }
                }
                KernelAddend::Lookup { row: addends } => {
                    for (a, &x) in acc.iter_mut().zip(&addends[start..start + LANES]) {
                        *a += x;
                    }
                }
            }
        }
        row[start..start + LANES].copy_from_slice(&acc);
        for (m, &t) in max[start..start + LANES].iter_mut().zip(&acc) {
            // Not `if t > *m`: with AVX2 that becomes a masked store, slow on AMD.
            *m = m.max(t);
        }
        start += LANES;
    }
    for s in start..n {
        let mut term = log_const;
        for part in parts {
            match *part {
                KernelAddend::Continuous { mu, half_precision, points } => {
                    let d = points[s] - mu;
                    term -= d * d * half_precision;
                }
                KernelAddend::Lookup { row: addends } => term += addends[s],
            }
        }
        row[s] = term;
        max[s] = max[s].max(term);
    }
}

/// max(0, 1 + d/64)⁶⁴ ≤ e^d for every d ((1 + d/n)ⁿ ≤ e^d for d ≥ −n), equal at d = 0 and within
/// 13 % of it for d ≥ −4: a lower bound of a term's share of the sum in nine vector operations.
/// Where many kernels overlap (one dimension, hundreds of trials), a looser floor (n = 4) left
/// most candidates to the exact sum.
#[inline(always)]
fn exp_floor(d: f64) -> f64 {
    pow64((1.0 + d / 64.0).max(0.0))
}

/// 1 / (1 − d/64)⁶⁴ ≥ e^d for every d ≤ 0 (e^(−d/n) ≥ 1 − d/n), equal at d = 0 and within 13 % of
/// it for d ≥ −4: an upper bound of a term's share of the sum in one division and six squarings.
#[inline(always)]
fn exp_ceiling(d: f64) -> f64 {
    1.0 / pow64(1.0 - d / 64.0)
}

/// q⁶⁴, by six squarings.
#[inline(always)]
fn pow64(mut q: f64) -> f64 {
    for _ in 0..6 {
        q *= q;
    }
    q
}

/// `mass` × e^d for d ≤ 0; 0 where e^d underflows (d < −700, or −∞): what is dropped is below
/// 10⁻³⁰⁰ of a sum that is at least 1, far inside the bounds' margin.
fn rescaled(mass: f64, d: f64) -> f64 {
    if d == 0.0 {
        mass
    } else if d >= -700.0 {
        mass * exp_nonpositive(d)
    } else {
        0.0
    }
}

/// ln Σ e^t over one sample's terms (in kernel order) given their maximum, skipping terms that
/// cannot change the sum in double precision. The kept differences are gathered first, without
/// branches, then exponentiated and summed in four interleaved partial sums (a fixed order, the
/// same on every CPU), so that the exponentials run on vectors.
fn log_sum_exp<'a>(terms: impl ExactSizeIterator<Item = &'a f64>, max: f64, kept: &mut Vec<f64>) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as just checked.
        return unsafe { log_sum_exp_avx2(terms, max, kept) };
    }
    log_sum_exp_on_any_cpu(terms, max, kept)
}

/// The same code with 4-wide vectors and the same order of operations, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn log_sum_exp_avx2<'a>(terms: impl ExactSizeIterator<Item = &'a f64>, max: f64, kept: &mut Vec<f64>) -> f64 {
    log_sum_exp_on_any_cpu(terms, max, kept)
}

#[inline(always)]
fn log_sum_exp_on_any_cpu<'a>(terms: impl ExactSizeIterator<Item = &'a f64>, max: f64, kept: &mut Vec<f64>) -> f64 {
    if !max.is_finite() {
        return max;
    }
    let floor = max - NEGLIGIBLE_LOG_RATIO;
    kept.resize(terms.len(), 0.0);
    let mut n_kept = 0;
    for &t in terms {
        kept[n_kept] = t - max;
        n_kept += usize::from(t > floor);
    }
    let mut partial = [0.0; 4];
    let chunks = kept[..n_kept].chunks_exact(4);
    let rest: f64 = chunks.remainder().iter().map(|&d| exp_nonpositive(d)).sum();
    for chunk in chunks {
        for (p, &d) in partial.iter_mut().zip(chunk) {
            *p += exp_nonpositive(d);
        }
    }
    // The largest term contributes e^0 = 1 exactly and nothing is negative, so the sum is at
    // least 1 and the result at least `max`.
    max + (((partial[0] + partial[1]) + (partial[2] + partial[3])) + rest).ln()
}

#[cfg(test)]
mod tests {
    use super::super::{ParzenEstimator, ParzenSettings};
    use crate::tune::distributions::Distribution;
    use crate::tune::rng::Rng;

    #[test]
    fn exp_floor_and_ceiling_bracket_exp() {
        assert_eq!((super::exp_floor(0.0), super::exp_ceiling(0.0)), (1.0, 1.0));
        assert_eq!((super::exp_floor(f64::NEG_INFINITY), super::exp_ceiling(f64::NEG_INFINITY)), (0.0, 0.0));
        for i in 0..=100_000 {
            let d = -100.0 * i as f64 / 100_000.0;
            assert!(super::exp_floor(d) <= d.exp() && d.exp() <= super::exp_ceiling(d), "{d}");
        }
        // Rescaling never rounds a mass up past the exact product's neighbourhood and drops underflow.
        assert_eq!(super::rescaled(3.0, 0.0), 3.0);
        assert_eq!(super::rescaled(3.0, f64::NEG_INFINITY), 0.0);
        assert!((super::rescaled(3.0, -2.0) - 3.0 * (-2.0f64).exp()).abs() < 1e-15);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn vector_code_gives_the_portable_bits() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let dists = [Distribution::float("a", 1e-5, 1e-2, true, None).unwrap(), Distribution::int("b", 64, 512, false, 64).unwrap(), Distribution::float("c", 0.0, 1.0, false, None).unwrap()];
        let refs: Vec<&Distribution> = dists.iter().collect();
        let mut rng = Rng::seed_from(3);
        let obs: Vec<Vec<f64>> = dists.iter().map(|d| (0..300).map(|_| crate::tune::samplers::random::sample_uniform(&mut rng, d)).collect()).collect();
        let settings = ParzenSettings { prior_weight: 1.0, consider_magic_clip: true, consider_endpoints: false };
        let pe = ParzenEstimator::new(&refs, &obs, &super::super::super::default_weights(300), settings);
        let flat = pe.sample(&mut rng, 24, false);
        let samples: Vec<&[f64]> = flat.chunks_exact(3).collect();
        for bound in [super::Bound::Below, super::Bound::Above] {
            let portable = pe.log_terms_on_any_cpu(&samples, bound);
            // SAFETY: AVX2 was detected above.
            let vector = unsafe { pe.log_terms_avx2(&samples, bound) };
            assert!(portable.terms.iter().zip(&vector.terms).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(portable.masses.iter().zip(&vector.masses).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        let portable = pe.log_terms_on_any_cpu(&samples, super::Bound::Below);
        for s in 0..24 {
            let column = || portable.terms.iter().skip(portable.distinct_of[s]).step_by(portable.n_distinct);
            let max = portable.largest(s);
            // SAFETY: as above.
            let mut kept = Vec::new();
            assert_eq!(super::log_sum_exp_on_any_cpu(column(), max, &mut kept).to_bits(), unsafe { super::log_sum_exp_avx2(column(), max, &mut kept) }.to_bits(), "sample {s}");
        }
    }
}
