//! Optuna's bandwidths, from the observations in sorted order. Only the order by value matters:
//! among equal observations the one with the smallest tie key takes the gap to the left, the one
//! with the largest the gap to the right, and the others none, exactly as if the ties had been
//! sorted by that key. So an order from anywhere (a sort here, or the sampler's running sorted
//! list of finished trials) gives the same bandwidths bit for bit.

use super::ParzenSettings;

/// Order among equal observations: a fixed scramble of their positions, so that which of the
/// tied kernels gets the wider bandwidth does not follow trial age (and so the age weights).
/// Optuna's `np.argsort` leaves ties in an unspecified, in practice scrambled, order.
fn tie_scramble(position: u64) -> u64 {
    let mut z = position.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Rank of a position among equal observations: by scramble, then position.
fn tie_key(position: u32) -> u64 {
    (tie_scramble(u64::from(position)) as u32 as u64) << 32 | u64::from(position)
}

thread_local! {
    /// `tie_key` of positions 0.., grown on demand: grid parameters have long runs of ties, and
    /// every member's key is looked at on every ask.
    static TIE_KEYS: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with the tie keys of positions 0..n at hand.
fn with_tie_keys<R>(n: usize, f: impl FnOnce(&[u64]) -> R) -> R {
    TIE_KEYS.with_borrow_mut(|keys| {
        if keys.len() < n {
            let len = keys.len();
            keys.extend((len..n.next_power_of_two()).map(|i| tie_key(i as u32)));
        }
        f(keys)
    })
}

/// The gap between equal neighbours, computed rather than written as 0: an infinite value's is
/// NaN, as the definition's subtraction gives.
#[allow(clippy::eq_op)]
fn tie_gap(value: f64) -> f64 {
    value - value
}

/// A key whose unsigned order is `f64::total_cmp`'s order (equal keys: equal bits).
pub(in crate::tune::samplers::tpe) fn value_key(x: f64) -> u64 {
    let bits = x.to_bits() as i64;
    (bits ^ ((((bits >> 63) as u64) >> 1) as i64)) as u64 ^ (1 << 63)
}

/// Positions of `values` sorted by value (`f64::total_cmp`), ties in position order.
pub(super) fn sorted_by_value(values: &[f64]) -> Vec<u32> {
    let mut keys: Vec<u128> = values.iter().enumerate().map(|(i, &v)| u128::from(value_key(v)) << 64 | i as u128).collect();
    keys.sort_unstable();
    keys.into_iter().map(|k| k as u32).collect()
}

/// Optuna's bandwidths: σ_i = the larger gap to a neighbour among the sorted observations, with
/// the bounds as outer neighbours; the outermost observations use their inner gap only (unless
/// `consider_endpoints`); then the magic clip to [range / min(100, 1 + n_kernels), range].
/// `order` holds the positions of `mus` sorted by value, ties in any order; `None` if it does not
/// sort them. Room is left for the prior kernel's bandwidth, which the caller appends.
pub(super) fn bandwidths(mus: &[f64], order: &[u32], t_low: f64, t_high: f64, settings: ParzenSettings) -> Option<Vec<f64>> {
    let m = order.len();
    debug_assert_eq!(m, mus.len());
    let mut sigmas = Vec::with_capacity(m + 1);
    sigmas.resize(m, 0.0);
    let value = |s: usize| mus[order[s] as usize];
    // The first and last observation in the tie-resolved order, for the endpoint rule.
    let (mut first, mut last) = (0, 0);
    let (mut left, mut start) = (t_low, 0);
    while start < m {
        let here = value(start);
        let key = value_key(here);
        let mut end = start + 1;
        while end < m && value_key(value(end)) == key {
            end += 1;
        }
        if end < m && value_key(value(end)) < key {
            return None;
        }
        let right = if end < m { value(end) } else { t_high };
        if end - start == 1 {
            sigmas[order[start] as usize] = (here - left).max(right - here);
            (first, last) = (if start == 0 { order[start] } else { first }, order[start]);
        } else {
            // Sorted by tie key, the run's first member has a tie on its right, its last a tie
            // on its left and the middle ones ties on both sides.
            let run = &order[start..end];
            let (lowest, highest) = with_tie_keys(m, |keys| {
                let by_key = |i: &&u32| keys[**i as usize];
                (*run.iter().min_by_key(by_key).expect("a run is not empty"), *run.iter().max_by_key(by_key).expect("a run is not empty"))
            });
            for &i in run {
                sigmas[i as usize] = tie_gap(here);
            }
            sigmas[lowest as usize] = (here - left).max(tie_gap(here));
            sigmas[highest as usize] = tie_gap(here).max(right - here);
            (first, last) = (if start == 0 { lowest } else { first }, highest);
        }
        (left, start) = (here, end);
    }
    if !settings.consider_endpoints && m >= 2 {
        sigmas[first as usize] = value(1) - value(0);
        sigmas[last as usize] = value(m - 1) - value(m - 2);
    }
    let range = t_high - t_low;
    let min_sigma = if settings.consider_magic_clip { range / 100.0f64.min(1.0 + (m + 1) as f64) } else { 1e-12 };
    for s in &mut sigmas {
        *s = s.clamp(min_sigma, range);
    }
    Some(sigmas)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: ParzenSettings = ParzenSettings { prior_weight: 1.0, consider_magic_clip: true, consider_endpoints: false };

    /// The definition: sort by (value, tie key), then take each one's neighbours.
    fn reference_bandwidths(mus: &[f64], t_low: f64, t_high: f64, settings: ParzenSettings) -> Vec<f64> {
        let mut keys: Vec<(u64, u64)> = mus.iter().enumerate().map(|(i, &v)| (value_key(v), tie_key(i as u32))).collect();
        keys.sort_unstable();
        let order: Vec<usize> = keys.iter().map(|k| k.1 as u32 as usize).collect();
        let m = order.len();
        let sorted: Vec<f64> = std::iter::once(t_low).chain(order.iter().map(|&i| mus[i])).chain([t_high]).collect();
        let mut sigmas = vec![0.0; m];
        for (&idx, w) in order.iter().zip(sorted.windows(3)) {
            sigmas[idx] = (w[1] - w[0]).max(w[2] - w[1]);
        }
        if !settings.consider_endpoints && m >= 2 {
            sigmas[order[0]] = sorted[2] - sorted[1];
            sigmas[order[m - 1]] = sorted[m] - sorted[m - 1];
        }
        let range = t_high - t_low;
        let min_sigma = if settings.consider_magic_clip { range / 100.0f64.min(1.0 + (m + 1) as f64) } else { 1e-12 };
        sigmas.iter().map(|s| s.clamp(min_sigma, range)).collect()
    }

    #[test]
    fn any_order_of_ties_gives_the_definitions_bits() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let spread: Vec<f64> = (0..500).map(|_| -11.5 + 6.9 * uniform()).collect();
        let clustered: Vec<f64> = (0..500).map(|i| if i % 50 == 0 { 1e6 * uniform() } else { 0.25 + 1e-9 * uniform() }).collect();
        let grid: Vec<f64> = (0..500).map(|_| 64.0 * (1.0 + (8.0 * uniform()).floor())).collect();
        let signed_zeros: Vec<f64> = (0..200).map(|i| [0.0, -0.0, 1.0, -1.0][i % 4]).collect();
        let with_infinity: Vec<f64> = (0..100).map(|i| if i == 7 { f64::INFINITY } else { i as f64 }).collect();
        let with_nan: Vec<f64> = (0..100).map(|i| if i == 7 { f64::NAN } else { i as f64 }).collect();
        assert_eq!(bandwidths(&[2.0, 1.0], &[0, 1], 0.0, 3.0, SETTINGS), None, "an order that does not sort");
        let cases = [spread, clustered, grid, signed_zeros, with_infinity, with_nan, vec![3.0; 100], vec![2.0, 2.0], vec![1.0], vec![]];
        for settings in [SETTINGS, ParzenSettings { consider_endpoints: true, consider_magic_clip: false, ..SETTINGS }] {
            for values in &cases {
                let expected = reference_bandwidths(values, -20.0, 2e6, settings);
                // Ties in position order, and reversed: the bits must not move.
                let order = sorted_by_value(values);
                let mut reversed_ties = order.clone();
                reversed_ties.chunk_by_mut(|a, b| value_key(values[*a as usize]) == value_key(values[*b as usize])).for_each(<[u32]>::reverse);
                for order in [order, reversed_ties] {
                    let sigmas = bandwidths(values, &order, -20.0, 2e6, settings).expect("a sorted order");
                    let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&sigmas), bits(&expected), "{:?}", &values[..values.len().min(8)]);
                }
            }
        }
    }

    #[test]
    fn tied_observations_share_optunas_bandwidths_in_scrambled_order() {
        // Six observations at 4 between neighbours at 1 and 9 in [0, 10]: sorted, the first tie
        // gets the gap to its left (3), the last the gap to its right (5), the middle ones 0,
        // clipped to 10 / min(100, 1 + 9) = 1.
        let mus = [1.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 9.0];
        let sigmas = bandwidths(&mus, &sorted_by_value(&mus), 0.0, 10.0, SETTINGS).unwrap();
        let mut tied: Vec<f64> = sigmas[1..7].to_vec();
        tied.sort_by(f64::total_cmp);
        assert_eq!(tied, vec![1.0, 1.0, 1.0, 1.0, 3.0, 5.0]);
        assert_eq!((sigmas[0], sigmas[7]), (3.0, 5.0));
        // Which tie is widest must not follow trial age (older trials weigh less).
        let left_gap = 1 + sigmas[1..7].iter().position(|&s| s == 3.0).unwrap();
        let right_gap = 1 + sigmas[1..7].iter().position(|&s| s == 5.0).unwrap();
        assert!((left_gap, right_gap) != (1, 6) && (left_gap, right_gap) != (6, 1), "{sigmas:?}");
    }
}
