//! Lightning's ModelCheckpoint and EarlyStopping as pure decisions over per-epoch metrics. The
//! metrics are identical on every rank, so every rank reaches the same decisions; only rank 0
//! acts on the checkpoint plan.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::metrics::EpochMetrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    Min,
    Max,
}

impl Mode {
    /// Whether `candidate` beats `reference` by more than `min_delta`.
    fn improves(self, candidate: f64, reference: f64, min_delta: f64) -> bool {
        match self {
            Mode::Min => candidate < reference - min_delta,
            Mode::Max => candidate > reference + min_delta,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("callback {callback} monitors {monitor:?}, which epoch {epoch} did not produce (known: train_loss, val_loss, val_accuracy, samples_per_sec, lr; val_* needs a validation set)")]
pub struct MissingMetric {
    pub callback: &'static str,
    pub monitor: String,
    pub epoch: usize,
}

fn monitored(callback: &'static str, monitor: &str, metrics: &EpochMetrics) -> Result<f64, MissingMetric> {
    metrics.get(monitor).ok_or_else(|| MissingMetric { callback, monitor: monitor.to_owned(), epoch: metrics.epoch })
}

/// Keeps the `save_top_k` best checkpoints by `monitor` (all when negative, none when 0) and,
/// with `save_last`, `last.ckpt` after every epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCheckpoint {
    pub dir: PathBuf,
    pub monitor: String,
    pub mode: Mode,
    pub save_top_k: i64,
    pub save_last: bool,
}

impl ModelCheckpoint {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelCheckpoint { dir: dir.into(), monitor: "val_loss".into(), mode: Mode::Min, save_top_k: 1, save_last: true }
    }

    pub fn last_path(&self) -> PathBuf {
        self.dir.join("last.ckpt")
    }

    /// What to write and delete after `metrics`' epoch; updates the kept list in `state`.
    pub fn plan(&self, state: &mut CheckpointState, metrics: &EpochMetrics) -> Result<CheckpointPlan, MissingMetric> {
        let mut plan = CheckpointPlan::default();
        if self.save_top_k != 0 {
            let value = monitored("ModelCheckpoint", &self.monitor, metrics)?;
            let path = self.dir.join(format!("epoch={}-{}={value:.6}.ckpt", metrics.epoch, self.monitor));
            let full = self.save_top_k > 0 && state.kept.len() >= self.save_top_k as usize;
            let worst = state.worst_index(self.mode);
            if !full {
                state.kept.push(Kept { value, path: path.clone() });
                plan.save_top_k = Some(path);
            } else if let Some(w) = worst.filter(|&w| self.mode.improves(value, state.kept[w].value, 0.0)) {
                plan.remove.push(state.kept.swap_remove(w).path);
                state.kept.push(Kept { value, path: path.clone() });
                plan.save_top_k = Some(path);
            }
        }
        if self.save_last {
            plan.save_last = Some(self.last_path());
        }
        Ok(plan)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    pub kept: Vec<Kept>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub value: f64,
    pub path: PathBuf,
}

impl CheckpointState {
    fn worst_index(&self, mode: Mode) -> Option<usize> {
        let better = |a: f64, b: f64| mode.improves(a, b, 0.0);
        (0..self.kept.len()).reduce(|w, i| if better(self.kept[w].value, self.kept[i].value) { i } else { w })
    }

    /// The best kept checkpoint.
    pub fn best(&self, mode: Mode) -> Option<&Kept> {
        self.kept.iter().reduce(|b, k| if mode.improves(k.value, b.value, 0.0) { k } else { b })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckpointPlan {
    pub save_top_k: Option<PathBuf>,
    pub save_last: Option<PathBuf>,
    pub remove: Vec<PathBuf>,
}

/// Stops when `monitor` has not improved by more than `min_delta` for `patience` epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopping {
    pub monitor: String,
    pub mode: Mode,
    pub patience: usize,
    pub min_delta: f64,
}

impl EarlyStopping {
    pub fn new(monitor: impl Into<String>, patience: usize) -> Self {
        EarlyStopping { monitor: monitor.into(), mode: Mode::Min, patience, min_delta: 0.0 }
    }

    /// Records this epoch; returns true when training should stop.
    pub fn update(&self, state: &mut EarlyStoppingState, metrics: &EpochMetrics) -> Result<bool, MissingMetric> {
        let value = monitored("EarlyStopping", &self.monitor, metrics)?;
        match state.best {
            Some(best) if !self.mode.improves(value, best, self.min_delta) => state.wait += 1,
            _ => {
                state.best = Some(value);
                state.wait = 0;
            }
        }
        Ok(state.wait >= self.patience)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingState {
    pub best: Option<f64>,
    pub wait: usize,
}

/// Callback state carried in checkpoints so a resumed run decides as an uninterrupted one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallbackState {
    pub checkpoint: CheckpointState,
    pub early_stopping: EarlyStoppingState,
}

/// What an `on_epoch_end` hook (e.g. a tuner's pruner) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, val_loss: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            step: epoch,
            train_loss: 0.0,
            val_loss: Some(val_loss),
            val_accuracy: None,
            samples_per_sec: 0.0,
            lr: 0.0,
            seconds: 0.0,
        }
    }

    #[test]
    fn top_k_keeps_exactly_the_k_best() {
        let cb = ModelCheckpoint { save_top_k: 2, ..ModelCheckpoint::new("ck") };
        let mut state = CheckpointState::default();
        let mut on_disk = std::collections::BTreeSet::new();
        for (e, loss) in [0.9, 0.5, 0.7, 0.3, 0.8, 0.4].into_iter().enumerate() {
            let plan = cb.plan(&mut state, &epoch(e, loss)).unwrap();
            on_disk.extend(plan.save_top_k);
            for gone in plan.remove {
                assert!(on_disk.remove(&gone));
            }
        }
        let mut kept: Vec<f64> = state.kept.iter().map(|k| k.value).collect();
        kept.sort_by(f64::total_cmp);
        assert_eq!(kept, [0.3, 0.4]);
        assert_eq!(on_disk.len(), 2);
        assert_eq!(state.best(Mode::Min).unwrap().value, 0.3);
    }

    #[test]
    fn early_stopping_waits_patience_epochs_past_the_best() {
        let cb = EarlyStopping { min_delta: 0.05, ..EarlyStopping::new("val_loss", 2) };
        let mut state = EarlyStoppingState::default();
        // 0.79 does not beat 0.8 by more than min_delta, so it counts as no improvement.
        let losses = [1.0, 0.8, 0.79, 0.81, 0.5];
        let stops: Vec<bool> =
            losses.iter().enumerate().map(|(e, &l)| cb.update(&mut state, &epoch(e, l)).unwrap()).collect();
        assert_eq!(stops, [false, false, false, true, false]);
    }

    #[test]
    fn a_missing_metric_names_itself() {
        let cb = EarlyStopping::new("val_f1", 1);
        let err = cb.update(&mut EarlyStoppingState::default(), &epoch(3, 0.1)).unwrap_err();
        assert!(err.to_string().contains("\"val_f1\"") && err.to_string().contains("epoch 3"));
    }
}
