//! What a training run is asked to do: Lightning's `Trainer(...)` arguments plus the optimizer.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tch::{Kind, Reduction, Tensor};

use super::callbacks::{EarlyStopping, ModelCheckpoint};
use super::dist::DEFAULT_TIMEOUT;
use super::optim::{LrSchedule, OptimizerKind};
use super::precision::Precision;

/// Where the worker computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accelerator {
    /// CUDA device `LOCAL_RANK` when CUDA is available, else CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Per process, per micro-batch: with DDP the global batch is `batch_size * world_size *
    /// accumulate_grad_batches`.
    pub batch_size: usize,
    pub lr: f64,
    pub optimizer: OptimizerKind,
    pub weight_decay: f64,
    pub schedule: LrSchedule,
    /// Micro-batches per optimizer step; their gradients are averaged (weighted by size).
    pub accumulate_grad_batches: usize,
    /// Clip the global L2 norm of the gradients to this value.
    pub gradient_clip_norm: Option<f64>,
    pub precision: Precision,
    pub seed: u64,
    pub shuffle: bool,
    pub accelerator: Accelerator,
    /// Intra-op threads per worker; default `OMP_NUM_THREADS` (the launcher sets it), else
    /// cores / local world size (oversubscription on CPU costs orders of magnitude).
    pub threads: Option<usize>,
    /// Rendezvous and collective timeout: a dead or hung peer becomes an error after this.
    pub dist_timeout: Duration,
    pub checkpoint: Option<ModelCheckpoint>,
    pub early_stopping: Option<EarlyStopping>,
    /// A checkpoint written by [`ModelCheckpoint`] (`last.ckpt` or a top-k one) to continue from.
    pub resume_from: Option<PathBuf>,
    /// Progress bar / per-epoch lines on rank 0.
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            lr: 1e-3,
            optimizer: OptimizerKind::adam(),
            weight_decay: 0.0,
            schedule: LrSchedule::Constant,
            accumulate_grad_batches: 1,
            gradient_clip_norm: None,
            precision: Precision::F32,
            seed: 0,
            shuffle: true,
            accelerator: Accelerator::Auto,
            threads: None,
            dist_timeout: std::env::var("KFP_DIST_TIMEOUT_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_TIMEOUT),
            checkpoint: None,
            early_stopping: None,
            resume_from: None,
            progress: true,
        }
    }
}

impl TrainConfig {
    /// Names the first field that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("accumulate_grad_batches", self.accumulate_grad_batches),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("TrainConfig.{name} must be at least 1"));
        }
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(format!("TrainConfig.lr must be a finite non-negative number, got {}", self.lr));
        }
        if let Some(clip) = self.gradient_clip_norm.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return Err(format!("TrainConfig.gradient_clip_norm must be positive, got {clip}"));
        }
        if self.threads == Some(0) {
            return Err("TrainConfig.threads must be at least 1".into());
        }
        Ok(())
    }
}

/// In-memory samples: `features[i]` and `labels[i]` along dimension 0.
pub struct Dataset {
    pub features: Tensor,
    pub labels: Tensor,
}

impl Dataset {
    pub fn new(features: Tensor, labels: Tensor) -> Result<Self, String> {
        let (n, m) = (features.size().first().copied(), labels.size().first().copied());
        if n.is_none() || n != m {
            return Err(format!("Dataset: features have {n:?} samples but labels have {m:?}"));
        }
        Ok(Dataset { features, labels })
    }

    pub fn len(&self) -> usize {
        self.features.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Training data and an optional validation set.
pub struct Data {
    pub train: Dataset,
    pub val: Option<Dataset>,
}

/// A user loss: `(model output, target) -> mean loss`.
pub type LossFn = Arc<dyn Fn(&Tensor, &Tensor) -> Tensor + Send + Sync>;

/// Loss over a batch, reduced to its mean.
#[derive(Clone)]
pub enum Loss {
    /// Logits `[N, C]` against class indices `[N]` (int64); also reports `val_accuracy`.
    CrossEntropy,
    Mse,
    Custom(LossFn),
}

impl Loss {
    pub fn compute(&self, output: &Tensor, target: &Tensor) -> Tensor {
        match self {
            Loss::CrossEntropy => output.to_kind(Kind::Float).cross_entropy_for_logits(target),
            Loss::Mse => output.to_kind(Kind::Float).mse_loss(&target.to_kind(Kind::Float), Reduction::Mean),
            Loss::Custom(f) => f(output, target),
        }
    }
}
