//! Standard normal CDF, its logarithm and inverse, and truncated-normal sampling, accurate in the
//! tails (TPE kernels are often far narrower than their truncation interval).

use super::memo::PairMemo;
use super::rng::Rng;
use std::cell::RefCell;
use std::f64::consts::{FRAC_1_SQRT_2, PI};

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// Φ(−8.5) ≈ 9.5e−18 is under half an ulp of any number in [0.5, 1].
const NEGLIGIBLE_TAIL: f64 = 8.5;

/// Φ(x).
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// ln Φ(x), finite down to x = −1e150.
pub fn log_cdf(x: f64) -> f64 {
    if x > -30.0 {
        cdf(x).ln()
    } else {
        // Asymptotic series of the Mills ratio; erfc underflows below about −38.
        let x2 = x * x;
        -0.5 * x2 - (-x).ln() - LN_SQRT_2PI + (1.0 - 1.0 / x2 + 3.0 / (x2 * x2)).ln()
    }
}

/// ln(Φ(b) − Φ(a)) for a < b, without cancellation in either tail.
pub fn log_mass(a: f64, b: f64) -> f64 {
    if a >= b {
        return f64::NEG_INFINITY;
    }
    if a > 0.0 {
        return log_mass(-b, -a);
    }
    if b <= 0.0 {
        let (la, lb) = (log_cdf(a), log_cdf(b));
        lb + (-(la - lb).exp()).ln_1p()
    } else {
        // a ≤ 0 < b: the mass is at least min(Φ(b), 1 − Φ(a)) − 0 > 0; 1 − Φ(a) − Φ(−b) is exact enough.
        // A tail beyond 8.5 (Φ(−8.5) < 2⁻⁵⁴, under half an ulp of 1 − Φ(a) ≥ 0.5) leaves the
        // result's bits unchanged, so its erfc is skipped.
        let left = if a < -NEGLIGIBLE_TAIL { 0.0 } else { cdf(a) };
        let right = if b > NEGLIGIBLE_TAIL { 0.0 } else { cdf(-b) };
        (1.0 - left - right).max(f64::MIN_POSITIVE).ln()
    }
}

/// ln φ(x).
pub fn log_pdf(x: f64) -> f64 {
    -0.5 * x * x - LN_SQRT_2PI
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation plus one Halley step.
pub fn inverse_cdf(p: f64) -> f64 {
    #[allow(clippy::excessive_precision)] // Acklam's published coefficients, kept verbatim.
    const A: [f64; 6] = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let x = if p < 0.02425 {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - 0.02425 {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if x.abs() < 37.5 {
        let e = cdf(x) - p;
        let u = e * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
        x - u / (1.0 + 0.5 * x * u)
    } else {
        x
    }
}

/// Φ⁻¹(e^lp), also where e^lp underflows (Newton steps on ln Φ).
fn inverse_log_cdf(lp: f64) -> f64 {
    if lp > -680.0 {
        return inverse_cdf(lp.exp());
    }
    let mut x = -(-2.0 * lp).sqrt();
    for _ in 0..8 {
        let slope = (log_pdf(x) - log_cdf(x)).exp();
        x -= (log_cdf(x) - lp) / slope;
    }
    x
}

thread_local! {
    /// Φ at truncation bounds: TPE draws from the same kernels ask after ask.
    static CDF_MEMO: RefCell<PairMemo> = RefCell::new(PairMemo::new(512));
}

/// Φ(x), memoised (an erfc each).
fn memoised_cdf(x: f64) -> f64 {
    CDF_MEMO.with_borrow_mut(|memo| memo.get_or(x, 0.0, |x, _| cdf(x)))
}

/// A draw from N(0, 1) truncated to [a, b] (standardised bounds, a < b), by inversion on the
/// side of the interval nearer to the mode so that tail intervals keep their precision.
pub fn sample_truncated(rng: &mut Rng, a: f64, b: f64) -> f64 {
    if a > 0.0 {
        return -sample_truncated(rng, -b, -a);
    }
    let u = rng.uniform();
    let x = if b <= 0.0 {
        // p = Φ(a) + u (Φ(b) − Φ(a)) in logs: both bounds may be deep in the left tail.
        let (la, lb) = (log_cdf(a), log_cdf(b));
        let ratio = (la - lb).exp();
        inverse_log_cdf(lb + (ratio + u * (1.0 - ratio)).ln())
    } else {
        // A tail beyond 8.5 moves p by under an ulp, so its erfc is skipped.
        let pa = if a < -NEGLIGIBLE_TAIL { 0.0 } else { memoised_cdf(a) };
        let pb = if b > NEGLIGIBLE_TAIL { 1.0 } else { memoised_cdf(b) };
        inverse_cdf(pa + u * (pb - pa))
    };
    if x.is_finite() { x.clamp(a, b) } else { 0.5 * (a.max(-1e6) + b.min(1e6)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_and_inverse_agree() {
        for &p in &[1e-300, 1e-20, 1e-5, 0.01, 0.3, 0.5, 0.9, 0.999999] {
            let x = inverse_cdf(p);
            let back = cdf(x);
            assert!(((back - p) / p).abs() < 1e-9, "p={p} x={x} back={back}");
        }
        assert!((cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
    }

    #[test]
    fn log_mass_is_accurate_in_tails() {
        // Φ(−40) − Φ(−41): compare with the asymptotic ln Φ.
        let m = log_mass(-41.0, -40.0);
        assert!((m - log_cdf(-40.0)).abs() < 1e-9, "{m}");
        assert!((log_mass(40.0, 41.0) - m).abs() < 1e-12);
        assert!((log_mass(-1.0, 1.0) - 0.682_689_492_137_085_9f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn truncated_samples_stay_inside_and_match_the_mean() {
        let mut rng = Rng::seed_from(3);
        for &(a, b) in &[(-1.0, 1.0), (2.0, 3.0), (-30.0, -29.5), (5.0, 50.0), (-0.1, 40.0)] {
            let n = 20_000;
            let mut sum = 0.0;
            for _ in 0..n {
                let x = sample_truncated(&mut rng, a, b);
                assert!(x >= a && x <= b, "{x} not in [{a}, {b}]");
                sum += x;
            }
            // Mean of a truncated normal: (φ(a) − φ(b)) / (Φ(b) − Φ(a)).
            let expected = (log_pdf(a) - log_mass(a, b)).exp() - (log_pdf(b) - log_mass(a, b)).exp();
            let mean = sum / n as f64;
            assert!((mean - expected).abs() < 0.02 * (1.0 + (b - a)), "[{a},{b}] mean {mean} vs {expected}");
        }
    }
}
