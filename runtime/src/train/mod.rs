//! The tch trainer with DDP over PyTorch's c10d (feature `torch`): what PyTorch Lightning + DDP
//! give Python users, for a `tch` model, in the pipeline's own binary.
//!
//! ```ignore
//! use kfp_runtime::train::*;
//! let data = Data { train: Dataset::new(x, y)?, val: Some(Dataset::new(vx, vy)?) };
//! let config = TrainConfig {
//!     epochs: 5, batch_size: 64, lr: 1e-3,
//!     checkpoint: Some(ModelCheckpoint::new("ckpt")),
//!     early_stopping: Some(EarlyStopping::new("val_loss", 3)),
//!     ..TrainConfig::default()
//! };
//! match launch(&LaunchOptions::new(2))? {
//!     Launched::Finished(_) => { /* launcher: workers are done; rank 0 wrote ckpt/ */ }
//!     Launched::Worker(env) => {
//!         let fitted = Trainer::new(config).worker(env).fit(|p| mlp(p), &data)?;
//!         println!("{:?}", fitted.report.best_checkpoint);
//!     }
//! }
//! ```
//!
//! # The distributed contract
//! - [`launch`] is torchrun. In a process without `RANK` (and without `LOCAL_RANK` + `PET_*`) and
//!   with more than one process per job, it re-executes `std::env::current_exe()` with the same
//!   arguments (or [`LaunchOptions::program`]/[`LaunchOptions::args`]) once per local worker,
//!   with `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `GROUP_RANK`, `MASTER_ADDR`,
//!   `MASTER_PORT` and `OMP_NUM_THREADS` (cores / workers unless set), prefixes their output with
//!   `[rank N]`, forwards SIGINT/SIGTERM, and returns [`Launched::Finished`] when all exit 0 or
//!   [`LaunchError::WorkerFailed`] (rank, status, last lines) as soon as one fails, after
//!   terminating the others. Each worker re-runs the program from the start, reaches the same
//!   `launch` call, and gets [`Launched::Worker`]: so code before `launch` runs in every process
//!   and must be idempotent, and outputs are written by rank 0 (`report.rank == 0`) only.
//! - Rendezvous is env:// as torchrun, PyTorchJob and Trainer v2 set it: `MASTER_ADDR`,
//!   `MASTER_PORT`, `WORLD_SIZE`, `RANK`, `LOCAL_RANK`, or `PET_NNODES`, `PET_NODE_RANK`,
//!   `PET_NPROC_PER_NODE`, `PET_MASTER_ADDR`, `PET_MASTER_PORT` (a node-level launcher then
//!   starts ranks `node_rank * nproc .. (node_rank + 1) * nproc`). See [`Rendezvous`].
//! - [`Trainer::fit`] in a worker of a job with `WORLD_SIZE > 1` joins a c10d process group
//!   (Gloo on CPU, NCCL on CUDA device `LOCAL_RANK`), broadcasts rank 0's initial weights, and
//!   averages gradients with a bucketed, asynchronous allreduce every optimizer step: strategy
//!   DDP. A peer that dies or hangs turns into [`TrainError::Dist`] on every surviving rank
//!   within [`TrainConfig::dist_timeout`] (default 10 min, `KFP_DIST_TIMEOUT_SECS`).
//! - Every rank returns the same [`FitReport`]; all ranks agree on early stopping and on the
//!   `on_epoch_end` hook's decision (taken on rank 0); only rank 0 writes checkpoints.
//! - Checkpoints ([`checkpoint`]) hold model, optimizer moments, epoch, step, callback state and
//!   the seed (torch's RNG is reseeded from `(seed, epoch, rank)` every epoch and the sampler
//!   shuffles from `seed + epoch`), so [`TrainConfig::resume_from`] ends bitwise identical to
//!   an uninterrupted run on CPU with fixed threads.
//!
//! Without feature `torch` this module holds only the launcher and the rendezvous parsing (no
//! libtorch needed): the `kfp train` command line starts any program's workers with them.
#[cfg(feature = "torch")]
pub mod callbacks;
#[cfg(feature = "torch")]
pub mod checkpoint;
#[cfg(feature = "torch")]
mod config;
#[cfg(feature = "torch")]
pub mod dist;
#[cfg(feature = "torch")]
mod ffi;
pub mod launcher;
#[cfg(feature = "torch")]
mod metrics;
#[cfg(feature = "torch")]
pub mod optim;
#[cfg(feature = "torch")]
pub mod precision;
#[cfg(feature = "torch")]
mod progress;
pub mod rendezvous;
#[cfg(feature = "torch")]
pub mod sampler;
#[cfg(feature = "torch")]
mod trainer;

pub use launcher::{JobReport, LaunchError, LaunchOptions, Launched, NodeLaunch, launch};
pub use rendezvous::{DistError, NodeEnv, Rendezvous, WorkerEnv};

#[cfg(feature = "torch")]
pub use {
    callbacks::{Control, EarlyStopping, Mode, ModelCheckpoint},
    config::{Accelerator, Data, Dataset, Loss, LossFn, TrainConfig},
    dist::{Backend, ProcessGroup},
    metrics::EpochMetrics,
    optim::{LrSchedule, OptimizerKind},
    precision::Precision,
    sampler::DistributedSampler,
    trainer::{FitReport, Fitted, TrainError, Trainer},
};
/// The tch the trainer is built with, for models and tensors of the same version.
#[cfg(feature = "torch")]
pub use tch;
