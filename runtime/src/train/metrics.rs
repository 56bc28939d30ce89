//! Per-epoch metrics, identical on every rank (reduced over the process group).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    /// 0-based.
    pub epoch: usize,
    /// Optimizer steps taken so far.
    pub step: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    /// Fraction of validation samples whose arg-max matches the label (cross-entropy only).
    pub val_accuracy: Option<f64>,
    /// Training samples per second over all ranks.
    pub samples_per_sec: f64,
    pub lr: f64,
    pub seconds: f64,
}

impl EpochMetrics {
    /// Looks a metric up by the name callbacks monitor.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "train_loss" => Some(self.train_loss),
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
            "samples_per_sec" => Some(self.samples_per_sec),
            "lr" => Some(self.lr),
            _ => None,
        }
    }
}
