//! Optuna's bandwidths, and the sorted order of the observations they come from. The order is
//! found by a bucket sort on the value (about linear time for the values TPE sees, where a
//! comparison sort of (value, scramble, position) keys was the costliest step of building an
//! estimator), and it is exactly the order that sort gives.

use super::ParzenSettings;
use std::sync::Mutex;

/// Below this many observations a plain sort is as fast.
const MIN_BUCKETED: usize = 64;

/// Buckets up to this size are sorted by insertion.
const SMALL_BUCKET: usize = 16;

/// Order among equal observations: a fixed scramble of their positions, so that which of the
/// tied kernels gets the wider bandwidth does not follow trial age (and so the age weights).
/// Optuna's `np.argsort` leaves ties in an unspecified, in practice scrambled, order.
fn tie_scramble(position: u64) -> u64 {
    let mut z = position.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A key whose integer order is `f64::total_cmp`'s order.
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// An unsigned key whose order is `f64::total_cmp`'s order.
fn value_key(x: f64) -> u64 {
    total_order_key(x) as u64 ^ (1 << 63)
}

/// (value, scramble, position) packed in one integer: the sort key, and the position back.
fn sort_key(position: usize, value: f64) -> u128 {
    (u128::from(value_key(value)) << 64) | (u128::from(tie_scramble(position as u64) as u32) << 32) | position as u128
}

/// Stable in-place sort by value key; buckets are mostly this small, where a library sort's
/// set-up costs more than the sorting.
fn insertion_sort_by_value(bucket: &mut [(u64, u32)]) {
    for j in 1..bucket.len() {
        let entry = bucket[j];
        let mut i = j;
        while i > 0 && bucket[i - 1].0 > entry.0 {
            bucket[i] = bucket[i - 1];
            i -= 1;
        }
        bucket[i] = entry;
    }
}

/// Runs `f` on positions 0..`n` sorted by (scramble, position): the order of ties. Memoised, as
/// a prefix-closed table (the order of 0..n is that of 0..N ≥ n without the positions ≥ n), since
/// it is the same for every estimator of the same size.
fn with_tie_order<R>(n: usize, f: impl FnOnce(&mut dyn Iterator<Item = u32>) -> R) -> R {
    static TABLE: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    let mut table = TABLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if table.len() < n {
        let size = n.next_power_of_two();
        let mut keys: Vec<u64> = (0..size).map(|i| (tie_scramble(i as u64) as u32 as u64) << 32 | i as u64).collect();
        keys.sort_unstable();
        *table = keys.into_iter().map(|k| k as u32).collect();
    }
    f(&mut table.iter().copied().filter(|&i| (i as usize) < n))
}

/// Positions of `values` sorted by value (`f64::total_cmp`), ties by scramble then position.
/// A bucket sort over [low, high]: positions are dealt, in tie order, to equal-width value
/// ranges; the bucket index is a non-decreasing function of the value (each rounded operation
/// is, and `as usize` saturates), so a stable sort of each bucket by value sorts the whole.
fn sorted_order(values: &[f64], low: f64, high: f64) -> Vec<u32> {
    let n = values.len();
    if n < MIN_BUCKETED || values.iter().any(|v| v.is_nan()) {
        // NaN has no place in value ranges; small inputs sort as fast directly.
        let mut keys: Vec<u128> = values.iter().enumerate().map(|(i, &v)| sort_key(i, v)).collect();
        keys.sort_unstable();
        return keys.into_iter().map(|k| k as u32).collect();
    }
    // Without a positive range everything shares bucket 0. NaN, from 0 × ∞ when the range
    // underflows, also maps to 0, which keeps the order.
    let scale = if high > low { n as f64 / (high - low) } else { 0.0 };
    let bucket = |v: f64| ((v - low) * scale) as usize;
    let mut starts = vec![0u32; n + 1];
    for &v in values {
        starts[bucket(v).min(n - 1) + 1] += 1;
    }
    for b in 1..=n {
        starts[b] += starts[b - 1];
    }
    let mut next = starts.clone();
    let mut dealt = vec![(0u64, 0u32); n];
    with_tie_order(n, |ties| {
        for i in ties {
            let v = values[i as usize];
            let slot = &mut next[bucket(v).min(n - 1)];
            dealt[*slot as usize] = (value_key(v), i);
            *slot += 1;
        }
    });
    for range in starts.windows(2) {
        let bucket = &mut dealt[range[0] as usize..range[1] as usize];
        if bucket.len() <= SMALL_BUCKET {
            insertion_sort_by_value(bucket);
        } else if bucket.iter().any(|e| e.0 != bucket[0].0) {
            bucket.sort_by_key(|e| e.0);
        }
    }
    dealt.into_iter().map(|(_, i)| i).collect()
}

/// Optuna's bandwidths: σ_i = the larger gap to a neighbour among the sorted observations, with
/// the bounds as outer neighbours; the outermost observations use their inner gap only (unless
/// `consider_endpoints`); then the magic clip to [range / min(100, 1 + n_kernels), range].
/// Also returns the observations' sorted order (ties in a scrambled order, see `tie_scramble`).
pub(super) fn bandwidths(mus: &[f64], t_low: f64, t_high: f64, settings: ParzenSettings) -> (Vec<f64>, Vec<u32>) {
    let order = sorted_order(mus, t_low, t_high);
    let m = order.len();
    // The sorted observations between the bounds: sorted(s) for s in 1..=m, bounds at 0 and m + 1.
    let sorted = |s: usize| if s == 0 { t_low } else if s > m { t_high } else { mus[order[s - 1] as usize] };
    // Room for the prior kernel's bandwidth, which the caller appends.
    let mut sigmas = Vec::with_capacity(m + 1);
    sigmas.resize(m, 0.0);
    let mut left = t_low;
    for (s, &idx) in order.iter().enumerate() {
        let (here, right) = (mus[idx as usize], sorted(s + 2));
        sigmas[idx as usize] = (here - left).max(right - here);
        left = here;
    }
    if !settings.consider_endpoints && m >= 2 {
        sigmas[order[0] as usize] = sorted(2) - sorted(1);
        sigmas[order[m - 1] as usize] = sorted(m) - sorted(m - 1);
    }
    let range = t_high - t_low;
    let min_sigma = if settings.consider_magic_clip { range / 100.0f64.min(1.0 + (m + 1) as f64) } else { 1e-12 };
    for s in &mut sigmas {
        *s = s.clamp(min_sigma, range);
    }
    (sigmas, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globally_sorted(values: &[f64]) -> Vec<u32> {
        let mut keys: Vec<u128> = values.iter().enumerate().map(|(i, &v)| sort_key(i, v)).collect();
        keys.sort_unstable();
        keys.into_iter().map(|k| k as u32).collect()
    }

    #[test]
    fn bucketed_order_is_the_global_sort() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let spread: Vec<f64> = (0..500).map(|_| -11.5 + 6.9 * uniform()).collect();
        // A dense cluster (one bucket gets most values) plus outliers.
        let clustered: Vec<f64> = (0..500).map(|i| if i % 50 == 0 { 1e6 * uniform() } else { 0.25 + 1e-9 * uniform() }).collect();
        let grid: Vec<f64> = (0..500).map(|_| 64.0 * (1.0 + (8.0 * uniform()).floor())).collect();
        let signed_zeros: Vec<f64> = (0..200).map(|i| [0.0, -0.0, 1.0, -1.0][i % 4]).collect();
        let extreme: Vec<f64> = (0..200).map(|i| [f64::MAX, -f64::MAX, 5e-324, 0.0][i % 4]).collect();
        let tiny_range: Vec<f64> = (0..200).map(|i| [1.0, 1.0 + f64::EPSILON][i % 2]).collect();
        let with_infinity: Vec<f64> = (0..100).map(|i| if i == 7 { f64::INFINITY } else { i as f64 }).collect();
        let with_nan: Vec<f64> = (0..100).map(|i| if i == 7 { f64::NAN } else { i as f64 }).collect();
        let cases = [spread, clustered, grid, signed_zeros, extreme, tiny_range, with_infinity, with_nan, vec![3.0; 100]];
        // The bounds only shape the buckets: narrow, wide, inverted or degenerate ones still sort.
        for (low, high) in [(-11.5, 1e6), (0.0, 1.0), (-1e300, 1e300), (5.0, -5.0), (1.0, 1.0), (0.0, 5e-324)] {
            for values in &cases {
                assert_eq!(sorted_order(values, low, high), globally_sorted(values), "[{low}, {high}] {:?}", &values[..8]);
            }
        }
    }
}
