//! The training loop: DDP over c10d when the process is one of several workers, else plain.
use std::path::PathBuf;
use std::time::Instant;

use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use super::callbacks::{CallbackState, Control, MissingMetric};
use super::checkpoint::{self, CheckpointError, TrainState};
use super::config::{Accelerator, Data, Dataset, Loss, TrainConfig};
use super::dist::{Backend, DistError, GradReducer, ProcessGroup, Rendezvous, WorkerEnv};
use super::metrics::EpochMetrics;
use super::optim::{Optimizer, clip_grad_norm};
use super::precision::{LossScaler, Precision};
use super::progress::Progress;
use super::sampler::{DistributedSampler, SplitMix64};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid training configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Dist(#[from] DistError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Callback(#[from] MissingMetric),
    #[error("resuming from {path}: {message}")]
    Resume { path: PathBuf, message: String },
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
}

/// What a finished run reports; identical on every rank.
#[derive(Debug, Clone)]
pub struct FitReport {
    pub metrics: Vec<EpochMetrics>,
    /// Best top-k checkpoint by the ModelCheckpoint's monitor (written by rank 0).
    pub best_checkpoint: Option<PathBuf>,
    pub last_checkpoint: Option<PathBuf>,
    pub stopped_early: bool,
    pub rank: usize,
    pub world_size: usize,
}

/// The trained network and its variables (on every rank; identical across ranks).
pub struct Fitted<M> {
    pub model: M,
    pub vs: nn::VarStore,
    pub report: FitReport,
}

/// Runs on rank 0 after each epoch; may borrow from the caller (a tuner's trial, say).
type EpochHook<'h> = Box<dyn FnMut(&EpochMetrics) -> Control + 'h>;

/// `Trainer::new(config).fit(|p| net(p), &data)`; see the module docs for the distributed contract.
pub struct Trainer<'h> {
    config: TrainConfig,
    loss: Loss,
    on_epoch_end: Option<EpochHook<'h>>,
    worker: Option<WorkerEnv>,
}

impl<'h> Trainer<'h> {
    pub fn new(config: TrainConfig) -> Self {
        Trainer { config, loss: Loss::CrossEntropy, on_epoch_end: None, worker: None }
    }

    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Called on rank 0 after every epoch with that epoch's metrics (a tuner reports and prunes
    /// here); `Control::Stop` ends training on every rank after this epoch.
    pub fn on_epoch_end(mut self, hook: impl FnMut(&EpochMetrics) -> Control + 'h) -> Self {
        self.on_epoch_end = Some(Box::new(hook));
        self
    }

    /// Uses this worker position instead of reading the environment.
    pub fn worker(mut self, env: WorkerEnv) -> Self {
        self.worker = Some(env);
        self
    }

    pub fn fit<M: ModuleT>(mut self, build: impl FnOnce(&nn::Path) -> M, data: &Data) -> Result<Fitted<M>, TrainError> {
        let cfg = self.config.clone();
        cfg.validate().map_err(TrainError::Config)?;
        if data.train.is_empty() {
            return Err(TrainError::Config("Data.train has no samples".into()));
        }
        let env = match self.worker.take() {
            Some(env) => env,
            None => match Rendezvous::from_env()? {
                Rendezvous::Worker(env) => env,
                Rendezvous::Node(_) => single_process(),
            },
        };
        let device = match cfg.accelerator {
            Accelerator::Cpu => Device::Cpu,
            Accelerator::Cuda => Device::Cuda(env.local_rank),
            Accelerator::Auto if tch::Cuda::is_available() => Device::Cuda(env.local_rank),
            Accelerator::Auto => Device::Cpu,
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let from_env = std::env::var("OMP_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0);
        let threads = cfg.threads.or(from_env).unwrap_or((cores / env.local_world_size.max(1)).max(1));
        tch::set_num_threads(threads as i32);
        let is_global_zero = env.rank == 0;
        let (precision, fallback) = cfg.precision.effective(device);
        if let (Some(message), true) = (fallback, is_global_zero) {
            eprintln!("kfp-runtime trainer: {message}");
        }

        let group = if env.world_size > 1 {
            let backend = if device.is_cuda() { Backend::Nccl { device: env.local_rank } } else { Backend::Gloo };
            Some(ProcessGroup::init(&env, backend, cfg.dist_timeout)?)
        } else {
            None
        };

        tch::manual_seed(cfg.seed as i64);
        let mut vs = nn::VarStore::new(device);
        let model = build(&vs.root());
        let params = vs.trainable_variables();
        let mut optimizer =
            Optimizer::new(cfg.optimizer.clone(), cfg.weight_decay, params.iter().map(Tensor::shallow_clone).collect());
        let mut state = TrainState {
            format: checkpoint::FORMAT,
            epochs_done: 0,
            global_step: 0,
            optimizer_steps: 0,
            seed: cfg.seed,
            world_size: env.world_size,
            loss_scale: None,
            callbacks: CallbackState::default(),
            history: Vec::new(),
        };
        let mut scaler = (precision == Precision::F16Mixed).then(|| LossScaler::new(device, 65536.0));
        if let Some(path) = &cfg.resume_from {
            state = resume(path, &cfg, &env, &mut vs, &mut optimizer)?;
            if let (Some(scale), Some(s)) = (state.loss_scale, scaler.as_mut()) {
                *s = LossScaler::new(device, scale);
            }
        }
        if let Some(group) = &group {
            // DDP's constructor: every rank starts from rank 0's weights.
            let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
            named.sort_by(|a, b| a.0.cmp(&b.0));
            let tensors: Vec<Tensor> = named.into_iter().map(|(_, t)| t).collect();
            let _guard = tch::no_grad_guard();
            group.broadcast(&tensors, 0)?;
        }
        let reducer = GradReducer::new(&params);

        let sampler = DistributedSampler {
            len: data.train.len(),
            world_size: env.world_size,
            rank: env.rank,
            shuffle: cfg.shuffle,
            seed: cfg.seed,
        };
        let micro_batches = sampler.per_rank().div_ceil(cfg.batch_size);
        let steps_per_epoch = micro_batches.div_ceil(cfg.accumulate_grad_batches);
        let total_steps = steps_per_epoch * cfg.epochs;
        let mut progress = Progress::new(cfg.progress && is_global_zero, cfg.epochs, micro_batches);
        let mut stopped_early = false;

        for epoch in state.epochs_done..cfg.epochs {
            // Reseeding per epoch makes dropout & co. reproducible from (seed, epoch, rank) alone,
            // which is what lets a resumed run end bitwise identical to an uninterrupted one.
            tch::manual_seed(epoch_seed(cfg.seed, epoch, env.rank));
            progress.start_epoch();
            let started = Instant::now();
            let order = sampler.indices(epoch);
            let mut loss_sum = Tensor::zeros([1], (Kind::Double, device));
            let mut lr = cfg.lr;
            for (group_index, group_batches) in
                order.chunks(cfg.batch_size).collect::<Vec<_>>().chunks(cfg.accumulate_grad_batches).enumerate()
            {
                let group_len: usize = group_batches.iter().map(|b| b.len()).sum();
                for (i, batch) in group_batches.iter().enumerate() {
                    let (x, y) = gather(&data.train, batch, device);
                    let output = precision.autocast(|| model.forward_t(&x, true));
                    let loss = self.loss.compute(&output, &y);
                    let weighted = if batch.len() == group_len {
                        loss.shallow_clone()
                    } else {
                        &loss * (batch.len() as f64 / group_len as f64)
                    };
                    match &scaler {
                        Some(s) => s.scale_loss(&weighted).f_backward()?,
                        None => weighted.f_backward()?,
                    }
                    let detached = loss.detach().to_kind(Kind::Double);
                    loss_sum += &detached * batch.len() as f64;
                    let micro = group_index * cfg.accumulate_grad_batches + i;
                    progress.step(epoch, micro, &detached, (micro + 1) * cfg.batch_size, env.world_size);
                }
                if let Some(group) = &group {
                    reducer.all_reduce_mean(group)?;
                }
                let finite = scaler.as_mut().is_none_or(|s| s.unscale(&params));
                if let Some(max_norm) = cfg.gradient_clip_norm.filter(|_| finite) {
                    clip_grad_norm(&params, max_norm);
                }
                lr = cfg.schedule.lr(cfg.lr, state.global_step, epoch, total_steps);
                if finite {
                    optimizer.step(lr);
                }
                if let Some(s) = scaler.as_mut() {
                    s.update();
                }
                optimizer.zero_grad();
                state.global_step += 1;
            }
            let train_seconds = started.elapsed().as_secs_f64();
            let (val_sum, val_count, val_correct) = match &data.val {
                Some(val) => evaluate(&model, &self.loss, val, &env, cfg.batch_size, device, precision),
                None => (0.0, 0.0, 0.0),
            };
            let epoch_seconds = started.elapsed().as_secs_f64();
            let local = [
                loss_sum.double_value(&[0]),
                order.len() as f64,
                val_sum,
                val_count,
                val_correct,
                train_seconds,
                epoch_seconds,
            ];
            let totals = reduce_sum(group.as_ref(), &local, device)?;
            let metrics = EpochMetrics {
                epoch,
                step: state.global_step,
                train_loss: totals[0] / totals[1],
                val_loss: data.val.as_ref().map(|_| totals[2] / totals[3]),
                val_accuracy: match (&data.val, &self.loss) {
                    (Some(_), Loss::CrossEntropy) => Some(totals[4] / totals[3]),
                    _ => None,
                },
                samples_per_sec: totals[1] / (totals[5] / env.world_size as f64),
                lr,
                // Times are means over ranks, so that every rank reports the same metrics.
                seconds: totals[6] / env.world_size as f64,
            };
            progress.end_epoch(&metrics);
            state.epochs_done = epoch + 1;
            state.optimizer_steps = optimizer.step_count();
            state.loss_scale = scaler.as_ref().map(|s| s.scale_value());
            state.history.push(metrics.clone());

            let mut stop = match &cfg.early_stopping {
                Some(es) => es.update(&mut state.callbacks.early_stopping, &metrics)?,
                None => false,
            };
            if let Some(hook) = self.on_epoch_end.as_mut().filter(|_| is_global_zero) {
                stop |= hook(&metrics) == Control::Stop;
            }
            if let Some(group) = &group {
                // Rank 0's hook decides for everyone.
                let flag = Tensor::from_slice(&[f64::from(u8::from(stop))]).to_device(device);
                group.broadcast(std::slice::from_ref(&flag), 0)?;
                stop = flag.double_value(&[0]) != 0.0;
            }
            if let Some(ck) = &cfg.checkpoint {
                let plan = ck.plan(&mut state.callbacks.checkpoint, &metrics)?;
                if is_global_zero {
                    let model_tensors = sorted_variables(&vs);
                    let optim_tensors = optimizer.state_tensors();
                    for path in plan.save_top_k.iter().chain(&plan.save_last) {
                        checkpoint::save(path, &state, &model_tensors, &optim_tensors)?;
                    }
                    for path in &plan.remove {
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
            if stop {
                stopped_early = epoch + 1 < cfg.epochs;
                break;
            }
        }
        if let Some(group) = &group {
            group.barrier()?;
        }
        let report = FitReport {
            metrics: state.history.clone(),
            best_checkpoint: cfg
                .checkpoint
                .as_ref()
                .and_then(|ck| state.callbacks.checkpoint.best(ck.mode).map(|k| k.path.clone())),
            last_checkpoint: cfg.checkpoint.as_ref().filter(|ck| ck.save_last).map(|ck| ck.last_path()),
            stopped_early,
            rank: env.rank,
            world_size: env.world_size,
        };
        Ok(Fitted { model, vs, report })
    }
}

fn single_process() -> WorkerEnv {
    WorkerEnv {
        rank: 0,
        world_size: 1,
        local_rank: 0,
        local_world_size: 1,
        master_addr: "127.0.0.1".into(),
        master_port: 0,
    }
}

fn epoch_seed(seed: u64, epoch: usize, rank: usize) -> i64 {
    let mut rng = SplitMix64::new(seed ^ ((epoch as u64) << 32) ^ (rank as u64).wrapping_mul(0x9E37_79B9));
    (rng.next() >> 1) as i64
}

fn gather(data: &Dataset, indices: &[i64], device: Device) -> (Tensor, Tensor) {
    let index = Tensor::from_slice(indices).to_device(data.features.device());
    (
        data.features.index_select(0, &index).to_device(device),
        data.labels.index_select(0, &index).to_device(device),
    )
}

/// Sums of loss, count and correct predictions over this rank's share of `val` (every
/// `world_size`-th sample, unpadded, so the reduced totals equal one process's).
fn evaluate(
    model: &impl ModuleT,
    loss: &Loss,
    val: &Dataset,
    env: &WorkerEnv,
    batch_size: usize,
    device: Device,
    precision: Precision,
) -> (f64, f64, f64) {
    let _guard = tch::no_grad_guard();
    let mine: Vec<i64> = (env.rank as i64..val.len() as i64).step_by(env.world_size).collect();
    let (mut sum, mut correct) = (0.0, 0.0);
    for batch in mine.chunks(batch_size) {
        let (x, y) = gather(val, batch, device);
        let output = precision.autocast(|| model.forward_t(&x, false));
        sum += loss.compute(&output, &y).double_value(&[]) * batch.len() as f64;
        if matches!(loss, Loss::CrossEntropy) {
            correct += output.argmax(-1, false).eq_tensor(&y).sum(Kind::Int64).double_value(&[]);
        }
    }
    (sum, mine.len() as f64, correct)
}

/// Sums `values` over ranks (on `device`: NCCL only reduces CUDA tensors).
fn reduce_sum(group: Option<&ProcessGroup>, values: &[f64], device: Device) -> Result<Vec<f64>, DistError> {
    let mut tensor = Tensor::from_slice(values);
    if let Some(group) = group {
        tensor = tensor.to_device(device);
        group.allreduce_sum(&tensor)?;
    }
    Ok(Vec::<f64>::try_from(&tensor.to_device(Device::Cpu)).expect("an f64 tensor converts"))
}

fn sorted_variables(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

fn resume(
    path: &std::path::Path,
    cfg: &TrainConfig,
    env: &WorkerEnv,
    vs: &mut nn::VarStore,
    optimizer: &mut Optimizer,
) -> Result<TrainState, TrainError> {
    let fail = |message: String| TrainError::Resume { path: path.to_owned(), message };
    let saved = checkpoint::load(path)?;
    if saved.state.seed != cfg.seed {
        return Err(fail(format!("checkpoint seed {} differs from TrainConfig.seed {}", saved.state.seed, cfg.seed)));
    }
    if saved.state.world_size != env.world_size && env.rank == 0 {
        eprintln!(
            "kfp-runtime trainer: {} was written by {} processes, resuming with {}: data order differs from an uninterrupted run",
            path.display(),
            saved.state.world_size,
            env.world_size
        );
    }
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let src = saved.model.get(&name).ok_or_else(|| fail(format!("model tensor {name} missing")))?;
        if src.size() != var.size() {
            return Err(fail(format!("model tensor {name} has shape {:?}, the model needs {:?}", src.size(), var.size())));
        }
        var.copy_(src);
    }
    optimizer.load_state(&saved.optimizer, saved.state.optimizer_steps).map_err(fail)?;
    Ok(saved.state)
}
