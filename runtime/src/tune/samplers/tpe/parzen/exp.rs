//! e^d for the differences of log-sum-exp (d ≤ 0), in plain IEEE arithmetic: no libm call and no
//! branch, so a loop over a slice vectorises, and every machine gets the same bits.

/// 1.5 × 2⁵²: adding it rounds a number below 2⁵¹ in magnitude to an integer (ties to even),
/// which then sits in the low bits of the sum.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// ln 2 split so that k × `LN2_HI` is exact for |k| < 2²⁰ (fdlibm's split).
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// 1/k! for k = 13 down to 0: the Taylor series of e^r to r¹³ is within 4e−18 (relative) of e^r
/// for |r| ≤ ln(2)/2.
const INVERSE_FACTORIALS: [f64; 14] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// e^d for d in [−700, 0] (within 2 ulp of the exact value); e^0 is exactly 1. Outside that range
/// the result is meaningless, so callers keep such d out.
#[inline(always)]
pub(super) fn exp_nonpositive(d: f64) -> f64 {
    // d = k ln 2 + r with k an integer and |r| ≤ ln(2)/2; e^d = 2^k e^r.
    let shifted = d * std::f64::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (d - k * LN2_HI) - k * LN2_LO;
    let mut series = 0.0;
    for c in INVERSE_FACTORIALS {
        series = series * r + c;
    }
    // The integer k is the difference of the two bit patterns (both lie in [2⁵², 2⁵³), where
    // consecutive doubles are 1 apart); 2^k is built from its biased exponent.
    let k_int = shifted.to_bits() as i64 - ROUND.to_bits() as i64;
    series * f64::from_bits(((k_int + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn within_two_ulp_of_the_library_exp() {
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
        let mut worst = (0, 0.0);
        // A dense sweep of the log-sum-exp range, then a coarser one down to −700.
        let sweep = (0..2_000_000).map(|i| -40.0 * i as f64 / 2_000_000.0).chain((0..70_000).map(|i| -0.01 * i as f64));
        for d in sweep {
            let error = ulps(exp_nonpositive(d), d.exp());
            if error > worst.0 {
                worst = (error, d);
            }
        }
        assert!(worst.0 <= 2, "{} ulp at d = {}", worst.0, worst.1);
    }

    #[test]
    fn powers_of_two_down_to_the_end_of_the_range() {
        // Near multiples of ln 2, r is about 0 and the scaling by 2^k is what is tested.
        for k in 0..=1000 {
            let d = -(k as f64) * std::f64::consts::LN_2;
            assert!(ulps(exp_nonpositive(d), d.exp()) <= 1, "k = {k}");
        }
    }
}
