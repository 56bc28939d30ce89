//! Helpers shared by the tuning benches: jobs run on all cores, and the statistics they print.

use kfp_runtime::tune::rng::Rng;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs jobs on all cores, keeping results in job order.
pub fn parallel<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= jobs.len() {
                        break;
                    }
                    let r = f(&jobs[i]);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|r| r.expect("every job ran")).collect()
}

/// numpy.percentile (linear) of sorted `v` at fraction `q`.
fn percentile(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// numpy.percentile (linear) at 50/25/75.
pub fn quantiles(values: &[f64]) -> [f64; 3] {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    [0.5, 0.25, 0.75].map(|q| percentile(&v, q))
}

/// A 95 % interval for median(a) − median(b): the 2.5th and 97.5th percentiles of that
/// difference over 2000 bootstrap resamples of both sides, from a fixed seed so that a rerun
/// prints the same. An interval holding 0 is no evidence either way: with 20 seeds a median
/// that differs is often just the seeds.
pub fn median_difference_interval(a: &[f64], b: &[f64]) -> [f64; 2] {
    let mut rng = Rng::seed_from(20);
    let mut median_of_resample = |v: &[f64]| quantiles(&(0..v.len()).map(|_| v[rng.below(v.len())]).collect::<Vec<f64>>())[0];
    let mut differences: Vec<f64> = (0..2000).map(|_| median_of_resample(a) - median_of_resample(b)).collect();
    differences.sort_by(f64::total_cmp);
    [percentile(&differences, 0.025), percentile(&differences, 0.975)]
}

/// P(a value of `a` is lower than a value of `b`), ties counting half: 0.5 is a tie in
/// distribution. Medians of 20 seeds move a lot between seed sets; this does not.
pub fn chance_lower(a: &[f64], b: &[f64]) -> f64 {
    let wins: f64 = a.iter().flat_map(|x| b.iter().map(move |y| if x < y { 1.0 } else if x == y { 0.5 } else { 0.0 })).sum();
    wins / (a.len() * b.len()) as f64
}
