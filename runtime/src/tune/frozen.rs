//! The stored record of a trial, as samplers, pruners and users read it.

use super::distributions::{Distribution, ParamValue};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Life cycle of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrialState {
    /// Enqueued with fixed parameters, not started yet.
    Waiting,
    Running,
    Complete,
    Pruned,
    Fail,
}

impl TrialState {
    pub fn is_finished(self) -> bool {
        matches!(self, TrialState::Complete | TrialState::Pruned | TrialState::Fail)
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            TrialState::Waiting => "WAITING",
            TrialState::Running => "RUNNING",
            TrialState::Complete => "COMPLETE",
            TrialState::Pruned => "PRUNED",
            TrialState::Fail => "FAIL",
        };
        f.write_str(s)
    }
}

/// Whether the objective is minimised or maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Minimize,
    Maximize,
}

impl Direction {
    /// `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }
    /// +1 for minimise, −1 for maximise: `sign * value` is a loss.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Minimize => 1.0,
            Direction::Maximize => -1.0,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        })
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "minimize" => Ok(Direction::Minimize),
            "maximize" => Ok(Direction::Maximize),
            other => Err(format!("direction must be `minimize` or `maximize`, got `{other}`")),
        }
    }
}

/// The process that runs a trial (to tell abandoned RUNNING trials from live ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    pub host: String,
    pub pid: u32,
}

impl Worker {
    pub fn current() -> Self {
        // Read once: every ask names its worker, and a file read per trial shows in the overhead.
        static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let host = HOST.get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| "localhost".to_owned())
        });
        Worker { host: host.clone(), pid: std::process::id() }
    }

    /// False only when we can tell the process is gone (same host, no /proc entry on Linux).
    pub fn is_alive(&self) -> bool {
        let me = Worker::current();
        if self.host != me.host || self.pid == me.pid {
            return true;
        }
        if cfg!(target_os = "linux") { std::path::Path::new(&format!("/proc/{}", self.pid)).exists() } else { true }
    }
}

/// One parameter of a trial: its distribution, the internal f64 and the value the objective saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub distribution: Distribution,
    pub internal: f64,
    pub value: ParamValue,
}

/// A trial as stored.
#[derive(Debug, Clone)]
pub struct FrozenTrial {
    pub number: u64,
    pub state: TrialState,
    /// Objective value of a COMPLETE trial.
    pub value: Option<f64>,
    pub params: IndexMap<String, Param>,
    /// Reported values by step; NaN is kept (it counts as the worst value).
    pub intermediate_values: BTreeMap<u64, f64>,
    /// Bookkeeping of samplers and pruners (relative params, Hyperband rungs, enqueued params).
    pub system_attrs: serde_json::Map<String, serde_json::Value>,
    pub worker: Option<Worker>,
    /// Why a trial failed or was pruned.
    pub message: Option<String>,
    pub started_unix: f64,
    pub completed_unix: Option<f64>,
}

impl FrozenTrial {
    /// A trial started at `started_unix` that has nothing recorded yet.
    pub fn new(number: u64, state: TrialState, started_unix: f64) -> Self {
        FrozenTrial {
            number,
            state,
            value: None,
            params: IndexMap::new(),
            intermediate_values: BTreeMap::new(),
            system_attrs: serde_json::Map::new(),
            worker: None,
            message: None,
            started_unix,
            completed_unix: None,
        }
    }

    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        self.params.get(name).map(|p| &p.value)
    }

    /// Parameter values by name, in suggestion order.
    pub fn param_values(&self) -> IndexMap<String, ParamValue> {
        self.params.iter().map(|(k, p)| (k.clone(), p.value.clone())).collect()
    }

    /// The last reported step and its value.
    pub fn last_step(&self) -> Option<(u64, f64)> {
        self.intermediate_values.iter().next_back().map(|(s, v)| (*s, *v))
    }

    /// A JSON summary (number, state, value, params, intermediate values).
    pub fn to_json(&self) -> serde_json::Value {
        let params: serde_json::Map<String, serde_json::Value> =
            self.params.iter().map(|(k, p)| (k.clone(), serde_json::to_value(&p.value).unwrap_or_default())).collect();
        serde_json::json!({
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "params": params,
            "intermediate_values": self.intermediate_values.iter().map(|(s, v)| (s.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "message": self.message,
        })
    }
}
