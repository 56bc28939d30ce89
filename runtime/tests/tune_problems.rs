//! The benchmark problems reproduce the reference values of shared/hpo/BASELINE.md §1.2
//! (relative error ≤ 1e-12), so Rust and Optuna optimise the same functions.

#[path = "../benches/problems.rs"]
mod problems;

use problems::*;

fn close(actual: f64, expected: f64) {
    assert!(((actual - expected) / expected).abs() <= 1e-12, "{actual} vs {expected}");
}

#[test]
fn reference_values() {
    close(branin(1.0, 2.0), 21.62763539206238);
    close(log_sphere10(&[1.0; 10]), 16.296296296296298);
    let p = Mlp { lr: 1e-4, batch_size: 64, hidden_size: 128, dropout: 0.1 };
    close(mlp_loss(&p), 0.3330000000000001);
    close(curve(&p, 1), 1.3192872489764143);
    close(curve(&p, 27), 0.3573728440732797);
}

#[test]
fn documented_optima() {
    close(mlp_optimum(), 0.10030476111839585);
    close(mlp_loss(&Mlp { lr: 1e-3, batch_size: 32, hidden_size: 320, dropout: 0.25 }), 0.10030476111839585);
    close(branin(std::f64::consts::PI, 2.275), BRANIN_OPTIMUM);
    close(log_sphere10(&(0..10).map(|i| 10f64.powf(-2.0 + 4.0 * i as f64 / 9.0)).collect::<Vec<_>>()) + 1.0, 1.0);
}
