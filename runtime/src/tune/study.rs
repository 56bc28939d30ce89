//! A study: a named sequence of trials in a storage, with a sampler and a pruner.
//! `optimize` runs an objective on `n_jobs` threads; `ask`/`tell` let any loop drive it.

use super::distributions::ParamValue;
use super::error::{TrialPruned, TuneError};
use super::frozen::{Direction, FrozenTrial, TrialState, Worker};
use super::progress::Progress;
use super::pruners::{NopPruner, Pruner};
use super::samplers::{RELATIVE_PARAMS_ATTR, SampleContext, Sampler, TpeSampler};
use super::storage::{InMemoryStorage, Op, Snapshot, Storage, now_unix};
use super::trial::Trial;
use indexmap::IndexMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to do, when a study is opened, with RUNNING trials whose process has died
/// (same host, process gone). Trials started by `ask` without a worker are left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StalePolicy {
    /// Mark them FAIL.
    #[default]
    Fail,
    /// Mark them FAIL and enqueue a new trial with the same parameters.
    Retry,
    /// Leave them RUNNING.
    Keep,
}

/// How a trial ended, for [`Study::tell`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrialOutcome {
    Complete(f64),
    Pruned,
    Fail(String),
}

impl From<f64> for TrialOutcome {
    fn from(v: f64) -> Self {
        TrialOutcome::Complete(v)
    }
}

/// Called after each trial of `optimize`.
pub type Callback = dyn Fn(&Study, &FrozenTrial) + Send + Sync;

/// Options of [`Study::optimize_with`].
pub struct OptimizeOptions {
    pub n_trials: Option<usize>,
    pub timeout: Option<Duration>,
    /// Threads running trials at once (0: one per core).
    pub n_jobs: usize,
    /// Progress bar on stderr; shown only when stdout is a terminal.
    pub show_progress: bool,
    pub callbacks: Vec<Box<Callback>>,
}

impl OptimizeOptions {
    pub fn trials(n: usize) -> Self {
        OptimizeOptions { n_trials: Some(n), timeout: None, n_jobs: 1, show_progress: true, callbacks: Vec::new() }
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    pub fn n_jobs(mut self, n_jobs: usize) -> Self {
        self.n_jobs = n_jobs;
        self
    }
    pub fn progress(mut self, show: bool) -> Self {
        self.show_progress = show;
        self
    }
    pub fn callback(mut self, f: impl Fn(&Study, &FrozenTrial) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Box::new(f));
        self
    }
}

/// Settings of a new or loaded study.
pub struct StudyBuilder {
    name: Option<String>,
    /// `None`: the stored direction of an existing study, else minimise.
    direction: Option<Direction>,
    sampler: Option<Arc<dyn Sampler>>,
    pruner: Option<Arc<dyn Pruner>>,
    storage: Option<Arc<dyn Storage>>,
    load_if_exists: bool,
    stale: StalePolicy,
}

impl StudyBuilder {
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = Some(direction);
        self
    }
    pub fn sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.sampler = Some(Arc::new(sampler));
        self
    }
    pub fn pruner(mut self, pruner: impl Pruner + 'static) -> Self {
        self.pruner = Some(Arc::new(pruner));
        self
    }
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }
    /// Open the study if it exists (resume) instead of failing.
    pub fn load_if_exists(mut self, load: bool) -> Self {
        self.load_if_exists = load;
        self
    }
    pub fn stale_running(mut self, policy: StalePolicy) -> Self {
        self.stale = policy;
        self
    }

    /// Creates (or, with `load_if_exists`, loads) the study and applies the stale-trial policy.
    pub fn build(self) -> Result<Study, TuneError> {
        self.open(false)
    }

    /// Loads an existing study (its stored direction unless one was set); an error if missing.
    pub fn load(self) -> Result<Study, TuneError> {
        self.open(true)
    }

    fn open(self, must_exist: bool) -> Result<Study, TuneError> {
        let storage = self.storage.unwrap_or_else(|| Arc::new(InMemoryStorage::new()));
        let name = self.name.unwrap_or_else(|| format!("no-name-{:016x}", super::samplers::entropy_seed()));
        let mut existing = None;
        storage.transact(&mut |reg| {
            existing = reg.study(&name).map(|s| s.direction);
            match (existing, self.direction) {
                (Some(stored), Some(asked)) if stored != asked => {
                    Err(TuneError::DirectionMismatch { study: name.clone(), existing: stored.to_string(), requested: asked.to_string() })
                }
                (Some(_), _) => Ok(Vec::new()),
                (None, _) if must_exist => Err(TuneError::NoSuchStudy { study: name.clone(), storage: storage.describe() }),
                (None, asked) => Ok(vec![Op::CreateStudy { study: name.clone(), direction: asked.unwrap_or_default() }]),
            }
        })?;
        if existing.is_some() && !self.load_if_exists && !must_exist {
            return Err(TuneError::StudyExists { study: name, storage: storage.describe() });
        }
        let study = Study {
            name,
            direction: existing.or(self.direction).unwrap_or_default(),
            storage,
            sampler: self.sampler.unwrap_or_else(|| Arc::new(TpeSampler::new(None))),
            pruner: self.pruner.unwrap_or_else(|| Arc::new(NopPruner)),
            stop: AtomicBool::new(false),
        };
        if existing.is_some() {
            study.handle_stale_trials(self.stale)?;
        }
        Ok(study)
    }
}

/// An optimisation study.
pub struct Study {
    name: String,
    direction: Direction,
    storage: Arc<dyn Storage>,
    sampler: Arc<dyn Sampler>,
    pruner: Arc<dyn Pruner>,
    stop: AtomicBool,
}

impl Study {
    /// A study builder: in memory, TPE with Optuna 5's defaults, no pruning, minimise.
    pub fn builder() -> StudyBuilder {
        StudyBuilder { name: None, direction: None, sampler: None, pruner: None, storage: None, load_if_exists: false, stale: StalePolicy::Fail }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn direction(&self) -> Direction {
        self.direction
    }
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }
    pub fn sampler(&self) -> &dyn Sampler {
        self.sampler.as_ref()
    }
    pub fn pruner(&self) -> &dyn Pruner {
        self.pruner.as_ref()
    }

    pub(crate) fn snapshot(&self) -> Result<Snapshot, TuneError> {
        self.storage.snapshot(&self.name)?.ok_or_else(|| TuneError::NoSuchStudy { study: self.name.clone(), storage: self.storage.describe() })
    }

    /// All trials, in number order.
    pub fn trials(&self) -> Result<Vec<FrozenTrial>, TuneError> {
        Ok(self.snapshot()?.trials.iter().map(|t| FrozenTrial::clone(t)).collect())
    }

    /// The best COMPLETE trial (the earliest among equals).
    pub fn best_trial(&self) -> Result<FrozenTrial, TuneError> {
        let snapshot = self.snapshot()?;
        let mut best: Option<&Arc<FrozenTrial>> = None;
        for t in snapshot.trials.iter().filter(|t| t.state == TrialState::Complete) {
            if best.is_none_or(|b| self.direction.better(t.value.unwrap_or(f64::NAN), b.value.unwrap_or(f64::NAN))) {
                best = Some(t);
            }
        }
        best.map(|t| FrozenTrial::clone(t)).ok_or_else(|| TuneError::NoCompletedTrial(self.name.clone()))
    }

    pub fn best_value(&self) -> Result<f64, TuneError> {
        Ok(self.best_trial()?.value.expect("complete trials have values"))
    }

    pub fn best_params(&self) -> Result<IndexMap<String, ParamValue>, TuneError> {
        Ok(self.best_trial()?.param_values())
    }

    /// Asks `optimize` to start no new trial (running ones finish).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Queues a trial whose parameters in `params` are fixed (others are sampled).
    pub fn enqueue_trial(&self, params: IndexMap<String, ParamValue>) -> Result<u64, TuneError> {
        let mut number = 0;
        self.storage.transact(&mut |reg| {
            let st = reg.study(&self.name).ok_or_else(|| TuneError::NoSuchStudy { study: self.name.clone(), storage: self.storage.describe() })?;
            number = st.trials.len() as u64;
            Ok(vec![Op::CreateTrial { study: self.name.clone(), number, state: TrialState::Waiting, worker: None, time: now_unix(), fixed: params.clone() }])
        })?;
        Ok(number)
    }

    /// Starts a trial (taking the oldest enqueued one first). The trial is owned by this
    /// process: if it dies, reopening the study applies the stale-trial policy.
    pub fn ask(&self) -> Result<Trial<'_>, TuneError> {
        self.ask_as(Some(Worker::current()))
    }

    /// Starts a trial that no process owns (`kfp tune ask`): it stays RUNNING until told.
    pub fn ask_detached(&self) -> Result<Trial<'_>, TuneError> {
        self.ask_as(None)
    }

    fn ask_as(&self, worker: Option<Worker>) -> Result<Trial<'_>, TuneError> {
        let mut number = 0;
        self.storage.transact(&mut |reg| {
            let st = reg.study(&self.name).ok_or_else(|| TuneError::NoSuchStudy { study: self.name.clone(), storage: self.storage.describe() })?;
            let (time, worker) = (now_unix(), worker.clone());
            Ok(vec![match st.first_waiting() {
                Some(t) => {
                    number = t.number;
                    Op::StartTrial { study: self.name.clone(), number, worker, time }
                }
                None => {
                    number = st.trials.len() as u64;
                    Op::CreateTrial { study: self.name.clone(), number, state: TrialState::Running, worker, time, fixed: IndexMap::new() }
                }
            }])
        })?;
        let history = self.snapshot()?.trials;
        let me = &history[number as usize];
        let fixed: IndexMap<String, ParamValue> =
            me.system_attrs.get("fixed_params").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
        let ctx = SampleContext { study_name: &self.name, direction: self.direction, trials: &history, number };
        let mut relative_space = self.sampler.relative_search_space(&ctx);
        relative_space.retain(|name, _| !fixed.contains_key(name));
        let relative = self.sampler.sample_relative(&ctx, &relative_space);
        if !relative.is_empty() {
            let attr = serde_json::to_value(&relative).unwrap_or_default();
            self.storage.transact(&mut |_| Ok(vec![Op::SetAttr { study: self.name.clone(), number, key: RELATIVE_PARAMS_ATTR.into(), value: attr.clone() }]))?;
        }
        Ok(Trial { study: self, number, history, relative_space, relative, fixed, params: IndexMap::new() })
    }

    /// Finishes a trial. A non-finite value makes it FAIL (with the reason), as in Optuna.
    pub fn tell(&self, trial: Trial<'_>, outcome: impl Into<TrialOutcome>) -> Result<FrozenTrial, TuneError> {
        self.tell_number(trial.number, outcome)
    }

    /// Finishes trial `number` (e.g. from another process).
    pub fn tell_number(&self, number: u64, outcome: impl Into<TrialOutcome>) -> Result<FrozenTrial, TuneError> {
        let (state, value, message) = match outcome.into() {
            TrialOutcome::Complete(v) if v.is_finite() => (TrialState::Complete, Some(v), None),
            TrialOutcome::Complete(v) => (TrialState::Fail, None, Some(format!("objective value is {v}; a trial's value must be a finite number"))),
            TrialOutcome::Pruned => (TrialState::Pruned, None, None),
            TrialOutcome::Fail(reason) => (TrialState::Fail, None, Some(reason)),
        };
        self.storage.transact(&mut |_| Ok(vec![Op::Finish { study: self.name.clone(), number, state, value, message: message.clone(), time: now_unix() }]))?;
        let trial = self.storage.trial(&self.name, number)?.ok_or_else(|| TuneError::NoSuchTrial { study: self.name.clone(), number })?;
        Ok(FrozenTrial::clone(&trial))
    }

    /// Runs `objective` for `n_trials` trials, one after another.
    pub fn optimize<F, E>(&self, objective: F, n_trials: usize) -> Result<(), TuneError>
    where
        F: Fn(&mut Trial<'_>) -> Result<f64, E> + Sync,
        E: Into<anyhow::Error>,
    {
        self.optimize_with(objective, OptimizeOptions::trials(n_trials))
    }

    /// Runs `objective` until `n_trials` trials were started, the timeout passes, `stop` is
    /// called or the sampler is exhausted, on `n_jobs` threads. An objective error, NaN or
    /// panic fails its trial (with the reason, also on stderr); storage errors end the run.
    pub fn optimize_with<F, E>(&self, objective: F, options: OptimizeOptions) -> Result<(), TuneError>
    where
        F: Fn(&mut Trial<'_>) -> Result<f64, E> + Sync,
        E: Into<anyhow::Error>,
    {
        let n_jobs = if options.n_jobs == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { options.n_jobs };
        self.stop.store(false, Ordering::SeqCst);
        let started = AtomicUsize::new(0);
        let deadline = options.timeout.map(|t| Instant::now() + t);
        let progress = Mutex::new(Progress::new(options.show_progress, options.n_trials, self.direction));
        let first_error: Mutex<Option<TuneError>> = Mutex::new(None);
        let worker = || {
            loop {
                if self.stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if options.n_trials.is_some_and(|n| started.fetch_add(1, Ordering::SeqCst) >= n) {
                    break;
                }
                match self.run_trial(&objective) {
                    Ok(Some(frozen)) => {
                        for cb in &options.callbacks {
                            cb(self, &frozen);
                        }
                        progress.lock().unwrap_or_else(|e| e.into_inner()).trial_done(&frozen);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.stop();
                        first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        break;
                    }
                }
            }
        };
        if n_jobs == 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 0..n_jobs {
                    s.spawn(worker);
                }
            });
        }
        progress.lock().unwrap_or_else(|e| e.into_inner()).finish();
        match first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// One trial; `None` when the sampler has nothing left.
    fn run_trial<F, E>(&self, objective: &F) -> Result<Option<FrozenTrial>, TuneError>
    where
        F: Fn(&mut Trial<'_>) -> Result<f64, E> + Sync,
        E: Into<anyhow::Error>,
    {
        if self.sampler.can_exhaust() {
            let snapshot = self.snapshot()?;
            let ctx = SampleContext { study_name: &self.name, direction: self.direction, trials: &snapshot.trials, number: snapshot.trials.len() as u64 };
            if self.sampler.is_exhausted(&ctx) {
                return Ok(None);
            }
        }
        let mut trial = self.ask()?;
        let number = trial.number;
        let outcome = match catch_unwind(AssertUnwindSafe(|| objective(&mut trial))) {
            Ok(Ok(value)) => TrialOutcome::Complete(value),
            Ok(Err(err)) => {
                let err: anyhow::Error = err.into();
                if err.is::<TrialPruned>() { TrialOutcome::Pruned } else { TrialOutcome::Fail(format!("objective failed: {err:#}")) }
            }
            Err(panic) => {
                let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                TrialOutcome::Fail(format!("objective panicked: {what}"))
            }
        };
        let frozen = self.tell_number(number, outcome)?;
        if frozen.state == TrialState::Fail {
            eprintln!("warning: study `{}`: trial {number} failed: {}", self.name, frozen.message.as_deref().unwrap_or("?"));
        }
        Ok(Some(frozen))
    }

    fn handle_stale_trials(&self, policy: StalePolicy) -> Result<(), TuneError> {
        if policy == StalePolicy::Keep {
            return Ok(());
        }
        self.storage.transact(&mut |reg| {
            let Some(st) = reg.study(&self.name) else { return Ok(Vec::new()) };
            let mut ops = Vec::new();
            let mut next = st.trials.len() as u64;
            for t in st.trials.iter().filter(|t| t.state == TrialState::Running) {
                let Some(worker) = t.worker.as_ref().filter(|w| !w.is_alive()) else { continue };
                let mut message = format!("process {} on {} stopped while the trial was running", worker.pid, worker.host);
                if policy == StalePolicy::Retry {
                    message.push_str(&format!("; retried as trial {next}"));
                    ops.push(Op::CreateTrial { study: self.name.clone(), number: next, state: TrialState::Waiting, worker: None, time: now_unix(), fixed: t.param_values() });
                    next += 1;
                }
                ops.insert(ops.len().saturating_sub(usize::from(policy == StalePolicy::Retry)), Op::Finish { study: self.name.clone(), number: t.number, state: TrialState::Fail, value: None, message: Some(message), time: now_unix() });
            }
            Ok(ops)
        })
    }
}
