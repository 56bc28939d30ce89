//! The scheduler: runs a DAG's tasks in dependency order, independent ones in parallel (at
//! most `parallelism` executor processes at once), nested DAG components recursively, and
//! stops everything at the first failure.

use super::cache::{Cache, CacheEntry};
use super::driver::{Bindings, RunInfo, collect_outputs, complete_inputs, executor_input, resolve_task_inputs, substitute_placeholders};
use super::error::LocalError;
use super::process::{BinaryMap, log_tail, run_with_retries};
use super::progress::{Outcome, Progress};
use crate::executor::fsio::write_atomic;
use kfp_compiler::ir::{ComponentSpec, DagSpec, PipelineSpec, PipelineTaskSpec, TaskInputArtifact, TaskInputParameter};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Lines of a failed task's log shown in the error.
const LOG_TAIL_LINES: usize = 20;
/// Stack of the thread that waits for one task (it only polls a process or runs a sub-DAG).
const TASK_THREAD_STACK: usize = 256 * 1024;

/// One task's line in the run record.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRecord {
    pub task: String,
    pub status: &'static str,
    pub attempts: u32,
    /// Wall time of the task's executor processes (all attempts); 0 for a cache hit.
    pub seconds: f64,
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub(crate) struct Run<'a> {
    pub spec: &'a PipelineSpec,
    pub run_id: String,
    pub run_dir: PathBuf,
    pub cache: Option<Cache>,
    pub binaries: &'a BinaryMap,
    pub progress: Progress,
    pub cancel: AtomicBool,
    pub first_failure: Mutex<Option<LocalError>>,
    pub records: Mutex<Vec<TaskRecord>>,
    slots: Slots,
}

impl<'a> Run<'a> {
    pub fn new(
        spec: &'a PipelineSpec,
        run_id: String,
        run_dir: PathBuf,
        cache: Option<Cache>,
        binaries: &'a BinaryMap,
        parallelism: usize,
        quiet: bool,
    ) -> Self {
        Self {
            spec,
            run_id,
            run_dir,
            cache,
            binaries,
            progress: Progress::new(quiet),
            cancel: AtomicBool::new(false),
            first_failure: Mutex::new(None),
            records: Mutex::new(Vec::new()),
            slots: Slots::new(parallelism.max(1)),
        }
    }

    /// Runs `dag` with `scope` as its inputs; its tasks' folders go under `dir`, their names
    /// under `prefix`. Returns the DAG's outputs.
    pub fn run_dag(&self, prefix: &str, dag: &DagSpec, scope: &Bindings, dir: &Path) -> Result<Bindings, LocalError> {
        let dependencies = dependencies(prefix, dag)?;
        let containers = dag.tasks.values().filter(|t| self.component(&t.component_ref.name).is_ok_and(|c| c.dag.is_none())).count();
        self.progress.add_tasks(containers);
        let mut completed: HashMap<String, Bindings> = HashMap::new();
        std::thread::scope(|scope_threads| {
            let (sender, receiver) = mpsc::channel::<(String, Result<Bindings, LocalError>)>();
            let mut launched: HashSet<&str> = HashSet::new();
            let mut in_flight = 0usize;
            loop {
                if !self.cancel.load(Ordering::SeqCst) {
                    for (name, task) in &dag.tasks {
                        let ready = !launched.contains(name.as_str())
                            && dependencies[name.as_str()].iter().all(|d| completed.contains_key(*d));
                        if !ready {
                            continue;
                        }
                        launched.insert(name);
                        let path = task_path(prefix, name);
                        let run_info = RunInfo { pipeline_name: &self.spec.pipeline_info.name, run_id: &self.run_id };
                        match resolve_task_inputs(&path, task, scope, &completed, &run_info) {
                            Ok(inputs) => {
                                let sender = sender.clone();
                                let task_dir = dir.join(name);
                                let spawned = std::thread::Builder::new()
                                    .stack_size(TASK_THREAD_STACK)
                                    .spawn_scoped(scope_threads, move || {
                                        let result = self.run_task(&path, task, inputs, &task_dir);
                                        let _ = sender.send((name.clone(), result));
                                    });
                                match spawned {
                                    Ok(_) => in_flight += 1,
                                    Err(err) => self.fail(LocalError::task(name, format!("cannot start a thread: {err}"))),
                                }
                            }
                            Err(err) => self.fail(err),
                        }
                    }
                }
                if in_flight == 0 {
                    break;
                }
                let (name, result) = receiver.recv().expect("a task thread always reports");
                in_flight -= 1;
                match result {
                    Ok(outputs) => {
                        completed.insert(name, outputs);
                    }
                    Err(err) => self.fail(err),
                }
            }
        });
        if completed.len() < dag.tasks.len() {
            let stopped = self.cancel.load(Ordering::SeqCst);
            let cause = if stopped { "stopped after a failure" } else { "tasks depend on each other in a cycle" };
            return Err(LocalError::task(if prefix.is_empty() { "root" } else { prefix }, cause));
        }
        dag_outputs(prefix, dag, &completed)
    }

    /// Records the run's first failure and stops launching and running tasks.
    fn fail(&self, err: LocalError) {
        let mut first = self.first_failure.lock().expect("failure lock");
        if first.is_none() {
            *first = Some(err);
        }
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn component(&self, name: &str) -> Result<&'a ComponentSpec, String> {
        self.spec.components.get(name).ok_or_else(|| format!("component '{name}' is not in the pipeline spec"))
    }

    fn run_task(&self, path: &str, task: &PipelineTaskSpec, inputs: Bindings, task_dir: &Path) -> Result<Bindings, LocalError> {
        if let Some(trigger) = &task.trigger_policy {
            if trigger.condition.is_some() || trigger.strategy.is_some() {
                return Err(LocalError::task(path, "trigger policies (conditions, exit handlers) are not supported by the local runner yet"));
            }
        }
        let component = self.component(&task.component_ref.name).map_err(|c| LocalError::task(path, c))?;
        let inputs = complete_inputs(path, component, inputs)?;
        match &component.dag {
            Some(dag) => self.run_dag(path, dag, &inputs, task_dir),
            None => self.run_container(path, task, component, inputs, task_dir),
        }
    }

    fn run_container(
        &self,
        path: &str,
        task: &PipelineTaskSpec,
        component: &ComponentSpec,
        inputs: Bindings,
        task_dir: &Path,
    ) -> Result<Bindings, LocalError> {
        let label = component.executor_label.as_deref().ok_or_else(|| LocalError::task(path, "component has neither a dag nor an executor"))?;
        let container = &self
            .spec
            .deployment_spec
            .executors
            .get(label)
            .ok_or_else(|| LocalError::task(path, format!("executor '{label}' is not in deploymentSpec")))?
            .container;
        let caching = self.cache.as_ref().filter(|_| task.caching_options.as_ref().is_some_and(|c| c.enable_cache));
        let cache_key = caching.map(|_| Cache::key(component, container, &inputs));
        if let (Some(cache), Some(key)) = (caching, &cache_key) {
            if let Some(entry) = cache.lookup(key) {
                self.progress.finished(path, Outcome::Cached, Duration::ZERO);
                self.record(task_dir, TaskRecord {
                    task: path.to_owned(),
                    status: Outcome::Cached.as_str(),
                    attempts: 0,
                    seconds: 0.0,
                    dir: task_dir.to_owned(),
                    cached_from: Some(entry.task_dir.clone()),
                    error: None,
                }, Some(&entry.outputs))?;
                return Ok(entry.outputs);
            }
        }
        let input = executor_input(component, &inputs, task_dir);
        let input_json = serde_json::to_string(&input).expect("ExecutorInput serialises");
        write_atomic(&task_dir.join("executor_input.json"), input_json.as_bytes())
            .map_err(LocalError::io("cannot write", task_dir.join("executor_input.json")))?;
        let command: Vec<String> = container.command.iter().chain(&container.args).cloned().collect();
        let Some(program) = command.first() else {
            return Err(LocalError::task(path, format!("executor '{label}' has no command")));
        };
        let binary = self.binaries.resolve(program).map_err(|c| LocalError::task(path, c))?;
        let mut argv = substitute_placeholders(&command, &input, &input_json);
        argv[0] = binary.to_string_lossy().into_owned();
        let env: Vec<(String, String)> = container.env.iter().map(|e| (e.name.clone(), e.value.clone())).collect();
        let log = task_dir.join("log");

        let Some(_slot) = self.slots.acquire(&self.cancel) else {
            return Err(LocalError::task(path, "cancelled before it started"));
        };
        self.progress.started(path);
        let started = Instant::now();
        let reset = || reset_outputs(task_dir);
        let result = run_with_retries(&argv, &env, &log, task.retry_policy.as_ref(), &self.cancel, reset);
        let took = started.elapsed();
        let attempts = match result {
            Ok(attempts) => attempts,
            Err(failure) => {
                let outcome = if failure.cancelled { Outcome::Cancelled } else { Outcome::Failed };
                return Err(self.task_failed(path, task_dir, failure.cause, failure.attempts, took, outcome));
            }
        };
        let outputs = collect_outputs(component, &input)
            .map_err(|cause| self.task_failed(path, task_dir, cause, attempts, took, Outcome::Failed))?;
        self.progress.finished(path, Outcome::Succeeded, took);
        self.record(task_dir, TaskRecord {
            task: path.to_owned(),
            status: Outcome::Succeeded.as_str(),
            attempts,
            seconds: took.as_secs_f64(),
            dir: task_dir.to_owned(),
            cached_from: None,
            error: None,
        }, Some(&outputs))?;
        if let (Some(cache), Some(key)) = (caching, cache_key) {
            let entry = CacheEntry { task_dir: task_dir.to_owned(), run_id: self.run_id.clone(), outputs: outputs.clone() };
            cache.store(&key, &entry).map_err(LocalError::io("cannot write the cache index under", self.run_dir.clone()))?;
        }
        Ok(outputs)
    }
}

impl Run<'_> {
    fn task_failed(&self, path: &str, task_dir: &Path, cause: String, attempts: u32, took: Duration, outcome: Outcome) -> LocalError {
        self.progress.finished(path, outcome, took);
        let record = TaskRecord {
            task: path.to_owned(),
            status: outcome.as_str(),
            attempts,
            seconds: took.as_secs_f64(),
            dir: task_dir.to_owned(),
            cached_from: None,
            error: Some(cause.clone()),
        };
        if let Err(err) = self.record(task_dir, record, None) {
            self.progress.message(&format!("warning: {err}"));
        }
        let log = task_dir.join("log");
        LocalError::TaskFailed { task: path.to_owned(), cause, log_tail: log_tail(&log, LOG_TAIL_LINES), log }
    }

    /// Writes `task.json` in the task folder and adds the task to the run record.
    fn record(&self, task_dir: &Path, record: TaskRecord, outputs: Option<&Bindings>) -> Result<(), LocalError> {
        let mut json = serde_json::to_value(&record).expect("task records serialise");
        if let Some(outputs) = outputs {
            json["outputs"] = serde_json::to_value(outputs).expect("bindings serialise");
        }
        let path = task_dir.join("task.json");
        let text = serde_json::to_vec_pretty(&json).expect("JSON values serialise");
        write_atomic(&path, &text).map_err(LocalError::io("cannot write", path))?;
        self.records.lock().expect("records lock").push(record);
        Ok(())
    }
}

/// Each attempt starts from empty output folders and no executor output.
fn reset_outputs(task_dir: &Path) -> std::io::Result<()> {
    for dir in ["outputs", "artifacts"] {
        let dir = task_dir.join(dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
    }
    match std::fs::remove_file(task_dir.join("output_metadata.json")) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

fn task_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") }
}

/// Each task's upstream tasks: `dependentTasks` plus every producer its inputs name.
fn dependencies<'d>(prefix: &str, dag: &'d DagSpec) -> Result<HashMap<&'d str, BTreeSet<&'d str>>, LocalError> {
    let mut all = HashMap::new();
    for (name, task) in &dag.tasks {
        let mut upstream: BTreeSet<&str> = task.dependent_tasks.iter().map(String::as_str).collect();
        for source in task.inputs.parameters.values() {
            if let TaskInputParameter::TaskOutputParameter(output) = source {
                upstream.insert(&output.producer_task);
            }
        }
        for source in task.inputs.artifacts.values() {
            if let TaskInputArtifact::TaskOutputArtifact(output) = source {
                upstream.insert(&output.producer_task);
            }
        }
        if let Some(missing) = upstream.iter().find(|u| !dag.tasks.contains_key(**u)) {
            return Err(LocalError::task(&task_path(prefix, name), format!("depends on task '{missing}', which is not in its DAG")));
        }
        all.insert(name.as_str(), upstream);
    }
    Ok(all)
}

/// The DAG's outputs from its tasks' outputs, by the `outputs` selectors.
fn dag_outputs(prefix: &str, dag: &DagSpec, completed: &HashMap<String, Bindings>) -> Result<Bindings, LocalError> {
    let scope = if prefix.is_empty() { "root" } else { prefix };
    let missing = |what: String| LocalError::task(scope, format!("DAG output {what}"));
    let mut outputs = Bindings::default();
    for (name, spec) in &dag.outputs.parameters {
        let selector = &spec.value_from_parameter;
        let value = completed
            .get(&selector.producer_subtask)
            .and_then(|o| o.parameters.get(&selector.output_parameter_key))
            .ok_or_else(|| missing(format!("'{name}': task '{}' has no output parameter '{}'", selector.producer_subtask, selector.output_parameter_key)))?;
        outputs.parameters.insert(name.clone(), value.clone());
    }
    for (name, spec) in &dag.outputs.artifacts {
        let mut artifacts = Vec::new();
        for selector in &spec.artifact_selectors {
            let produced = completed
                .get(&selector.producer_subtask)
                .and_then(|o| o.artifacts.get(&selector.output_artifact_key))
                .ok_or_else(|| missing(format!("'{name}': task '{}' has no output artifact '{}'", selector.producer_subtask, selector.output_artifact_key)))?;
            artifacts.extend(produced.iter().cloned());
        }
        outputs.artifacts.insert(name.clone(), artifacts);
    }
    Ok(outputs)
}

/// A counting semaphore for executor processes.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'s>(&'s Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().expect("slots lock") += 1;
        self.0.freed.notify_one();
    }
}

impl Slots {
    fn new(count: usize) -> Self {
        Self { free: Mutex::new(count), freed: Condvar::new() }
    }

    /// Waits for a free slot; `None` once the run is cancelled.
    fn acquire(&self, cancel: &AtomicBool) -> Option<Slot<'_>> {
        let mut free = self.free.lock().expect("slots lock");
        loop {
            if cancel.load(Ordering::SeqCst) {
                return None;
            }
            if *free > 0 {
                *free -= 1;
                return Some(Slot(self));
            }
            free = self.freed.wait_timeout(free, Duration::from_millis(50)).expect("slots lock").0;
        }
    }
}
