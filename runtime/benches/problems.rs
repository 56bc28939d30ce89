//! The benchmark problems of shared/hpo/BASELINE.md §1.2 and §1.4, exactly as specified there:
//! Branin, log_sphere10, mlp_mixed and the 27-epoch learning curve. Shared by the `tune` bench
//! and the tests that pin the formulas to the reference values.

#![allow(dead_code)]

use kfp_runtime::tune::{Trial, TuneError};
use std::f64::consts::PI;

pub const N_EPOCHS: u64 = 27;
pub const BRANIN_OPTIMUM: f64 = 5.0 / (4.0 * PI);
pub const LOG_SPHERE_OPTIMUM: f64 = 0.0;
/// Optimum of the final curve value (BASELINE.md §1.4; a 600001-point grid over log10 lr).
pub const CURVE_OPTIMUM: f64 = 0.101_744_930_307_032_67;

pub fn branin(x0: f64, x1: f64) -> f64 {
    let (a, b, c, r, s, t) = (1.0, 5.1 / (4.0 * PI * PI), 5.0 / PI, 6.0, 10.0, 1.0 / (8.0 * PI));
    a * (x1 - b * x0 * x0 + c * x0 - r).powi(2) + s * (1.0 - t) * x0.cos() + s
}

pub fn log_sphere10(x: &[f64]) -> f64 {
    x.iter().enumerate().map(|(i, v)| (v.log10() - (-2.0 + 4.0 * i as f64 / 9.0)).powi(2)).sum()
}

fn batch_term(batch_size: i64) -> f64 {
    match batch_size {
        16 => 0.02,
        32 => 0.0,
        _ => 0.01,
    }
}

/// The mlp_mixed parameters.
#[derive(Debug, Clone, Copy)]
pub struct Mlp {
    pub lr: f64,
    pub batch_size: i64,
    pub hidden_size: i64,
    pub dropout: f64,
}

pub fn mlp_loss(p: &Mlp) -> f64 {
    let u = p.lr.log10();
    let u_star = -3.0 + 0.25 * (p.batch_size as f64 / 32.0).log2();
    let du = u - u_star;
    let lr_term = 0.08 * du * du + 0.12 * du.max(0.0).powi(2);
    let cap_term = 0.05 * ((p.hidden_size as f64).log2() - 8.4).powi(2);
    let d_star = 0.05 + 0.35 * (p.hidden_size - 64) as f64 / 448.0;
    let drop_term = (p.dropout - d_star).powi(2);
    0.1 + lr_term + cap_term + drop_term + batch_term(p.batch_size)
}

/// The minimum of mlp_loss: the lr and dropout terms vanish, the rest is enumerated.
pub fn mlp_optimum() -> f64 {
    let mut best = f64::INFINITY;
    for bs in [16, 32, 64] {
        for h in (64..=512).step_by(64) {
            best = best.min(0.1 + 0.05 * ((h as f64).log2() - 8.4).powi(2) + batch_term(bs));
        }
    }
    best
}

/// Validation loss after `epoch` (1..=27).
pub fn curve(p: &Mlp, epoch: u64) -> f64 {
    let u = p.lr.log10();
    let tau = -5.0 - 3.0 * u;
    let e = epoch as f64;
    let n = N_EPOCHS as f64;
    let wiggle = 0.02 * (n - e) / (n - 1.0) * (1.7 * e + 31.0 * u + 0.013 * p.hidden_size as f64 + 5.0 * p.dropout).sin();
    mlp_loss(p) + (-(e - 1.0) / tau).exp() + wiggle
}

/// Suggests the mlp_mixed space in the documented order.
pub fn suggest_mlp(t: &mut Trial<'_>) -> Result<Mlp, TuneError> {
    Ok(Mlp {
        lr: t.suggest_float_log("lr", 1e-5, 1e-2)?,
        batch_size: t.suggest_categorical("batch_size", &[16i64, 32, 64])?,
        hidden_size: t.suggest_int_step("hidden_size", 64, 512, 64)?,
        dropout: t.suggest_float("dropout", 0.0, 0.5)?,
    })
}

/// The three suite problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Branin,
    LogSphere10,
    MlpMixed,
}

impl Problem {
    pub const ALL: [Problem; 3] = [Problem::Branin, Problem::LogSphere10, Problem::MlpMixed];

    pub fn name(self) -> &'static str {
        match self {
            Problem::Branin => "branin",
            Problem::LogSphere10 => "log_sphere10",
            Problem::MlpMixed => "mlp_mixed",
        }
    }

    pub fn optimum(self) -> f64 {
        match self {
            Problem::Branin => BRANIN_OPTIMUM,
            Problem::LogSphere10 => LOG_SPHERE_OPTIMUM,
            Problem::MlpMixed => mlp_optimum(),
        }
    }

    /// Suggests the problem's space and evaluates it.
    pub fn evaluate(self, t: &mut Trial<'_>) -> Result<f64, TuneError> {
        Ok(match self {
            Problem::Branin => {
                let x0 = t.suggest_float("x0", -5.0, 10.0)?;
                let x1 = t.suggest_float("x1", 0.0, 15.0)?;
                branin(x0, x1)
            }
            Problem::LogSphere10 => {
                let mut xs = [0.0; 10];
                for (i, x) in xs.iter_mut().enumerate() {
                    *x = t.suggest_float_log(&format!("x{i}"), 1e-3, 1e3)?;
                }
                log_sphere10(&xs)
            }
            Problem::MlpMixed => mlp_loss(&suggest_mlp(t)?),
        })
    }
}
