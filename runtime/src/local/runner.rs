//! The scheduler: runs a DAG's tasks in dependency order, independent ones in parallel (at
//! most `parallelism` executor processes at once), nested DAG components recursively, and
//! stops everything at the first failure.

use super::cache::{Cache, CacheEntry};
use super::cel::evaluate;
use super::driver::{
    Bindings, DagState, RunInfo, collect_outputs, complete_inputs, executor_input,
    resolve_parameter, resolve_task_inputs, substitute_placeholders,
};
use super::error::LocalError;
use super::platform::{LocalPlatform, TaskPlatform};
use super::process::{BinaryMap, log_tail, run_with_retries};
use super::progress::{Outcome, Progress};
use super::resources::resource_notice;
use crate::executor::fsio::write_atomic;
use crate::executor::protocol::{ArtifactTypeRef, RuntimeArtifact};
use kfp_compiler::ir::{
    ComponentSpec, ContainerSpec, DagOutputParameterSpec, DagSpec, ImporterSpec, ImporterUri,
    ParameterItems, ParameterSelector, PipelineSpec, PipelineTaskSpec, TaskInputArtifact,
    TaskInputParameter, TriggerStrategy,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Lines of a failed task's log shown in the error.
const LOG_TAIL_LINES: usize = 20;
/// Stack of the thread that waits for one task (it only polls a process or runs a sub-DAG).
/// Not smaller: a CUDA build's libraries put ~200 KiB of thread-local storage on every stack.
const TASK_THREAD_STACK: usize = 1024 * 1024;

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
    /// Kubernetes settings that do nothing locally, one line per group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

impl TaskRecord {
    fn new(task: &str, outcome: Outcome, dir: &Path) -> Self {
        Self {
            task: task.to_owned(),
            status: outcome.as_str(),
            attempts: 0,
            seconds: 0.0,
            dir: dir.to_owned(),
            cached_from: None,
            error: None,
            notices: Vec::new(),
        }
    }
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
    pub platform: LocalPlatform<'a>,
    slots: Slots,
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: &'a PipelineSpec,
        run_id: String,
        run_dir: PathBuf,
        cache: Option<Cache>,
        binaries: &'a BinaryMap,
        parallelism: usize,
        quiet: bool,
        platform: LocalPlatform<'a>,
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
            platform,
            slots: Slots::new(parallelism.max(1)),
        }
    }

    /// Runs `dag` with `scope` as its inputs; its tasks' folders go under `dir`, their names
    /// under `prefix`. Returns the DAG's outputs.
    ///
    /// After a failure no new task starts, except exit-handler tasks
    /// (`ALL_UPSTREAM_TASKS_COMPLETED`), which run once their upstream tasks finished either way.
    pub fn run_dag(
        &self,
        prefix: &str,
        dag: &DagSpec,
        scope: &Bindings,
        dir: &Path,
    ) -> Result<Bindings, LocalError> {
        let dependencies = dependencies(prefix, dag)?;
        let containers = dag
            .tasks
            .values()
            .filter(|t| {
                self.component(&t.component_ref.name)
                    .is_ok_and(|c| c.dag.is_none())
            })
            .count();
        self.progress.add_tasks(containers);
        let mut state = DagState::default();
        let never_cancelled = AtomicBool::new(false);
        let mut first_failure_here: Option<String> = None;
        std::thread::scope(|threads| {
            let (sender, receiver) =
                mpsc::channel::<(String, Result<Option<Bindings>, LocalError>)>();
            let mut launched: HashSet<&str> = HashSet::new();
            let mut in_flight = 0usize;
            loop {
                for (name, task) in &dag.tasks {
                    if launched.contains(name.as_str()) {
                        continue;
                    }
                    let upstream = &dependencies[name.as_str()];
                    let runs_after_failures = is_exit_task(task);
                    let ready = if runs_after_failures {
                        upstream.iter().all(|d| {
                            state.completed.contains_key(*d) || state.failed.contains_key(*d)
                        })
                    } else {
                        upstream.iter().all(|d| state.completed.contains_key(*d))
                            && !self.cancel.load(Ordering::SeqCst)
                    };
                    if !ready {
                        continue;
                    }
                    launched.insert(name);
                    let path = task_path(prefix, name);
                    let run_info = RunInfo {
                        pipeline_name: &self.spec.pipeline_info.name,
                        run_id: &self.run_id,
                    };
                    let resolved = resolve_task_inputs(&path, task, scope, &state, &run_info)
                        .and_then(|inputs| {
                            let platform =
                                self.task_platform(&path, task, scope, &state, &run_info)?;
                            Ok((inputs, platform))
                        });
                    let (inputs, platform) = match resolved {
                        Ok(resolved) => resolved,
                        Err(err) => {
                            first_failure_here.get_or_insert_with(|| err.to_string());
                            state.failed.insert(name.clone(), err.to_string());
                            self.fail(err);
                            continue;
                        }
                    };
                    let sender = sender.clone();
                    let task_dir = dir.join(name);
                    let cancel = if runs_after_failures {
                        &never_cancelled
                    } else {
                        &self.cancel
                    };
                    let spawned = std::thread::Builder::new()
                        .stack_size(TASK_THREAD_STACK)
                        .spawn_scoped(threads, move || {
                            let result = self.run_task(
                                &path,
                                task,
                                inputs,
                                platform.as_ref(),
                                &task_dir,
                                cancel,
                            );
                            let _ = sender.send((name.clone(), result));
                        });
                    match spawned {
                        Ok(_) => in_flight += 1,
                        Err(err) => self.fail(LocalError::task(
                            name,
                            format!("cannot start a thread: {err}"),
                        )),
                    }
                }
                if in_flight == 0 {
                    break;
                }
                let (name, result) = receiver.recv().expect("a task thread always reports");
                in_flight -= 1;
                match result {
                    Ok(outputs) => {
                        state.completed.insert(name, outputs.unwrap_or_default());
                    }
                    Err(err) => {
                        first_failure_here.get_or_insert_with(|| err.to_string());
                        state.failed.insert(name, err.to_string());
                        self.fail(err);
                    }
                }
            }
        });
        if state.completed.len() < dag.tasks.len() {
            let task = if prefix.is_empty() { "root" } else { prefix };
            return Err(match first_failure_here {
                Some(error) => LocalError::Dag {
                    task: task.to_owned(),
                    cause: error.lines().next().unwrap_or_default().to_owned(),
                },
                None if self.cancel.load(Ordering::SeqCst) => {
                    LocalError::task(task, "stopped after a failure elsewhere")
                }
                None => LocalError::task(task, "tasks depend on each other in a cycle"),
            });
        }
        dag_outputs(prefix, dag, &state.completed)
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
        self.spec
            .components
            .get(name)
            .ok_or_else(|| format!("component '{name}' is not in the pipeline spec"))
    }

    /// Runs one task: its condition, its loop, then its component. `None` when its condition
    /// was false.
    fn run_task(
        &self,
        path: &str,
        task: &PipelineTaskSpec,
        inputs: Bindings,
        platform: Option<&TaskPlatform>,
        task_dir: &Path,
        cancel: &AtomicBool,
    ) -> Result<Option<Bindings>, LocalError> {
        if let Some(condition) = task
            .trigger_policy
            .as_ref()
            .and_then(|t| t.condition.as_deref())
        {
            let parameters: Map<String, Value> = inputs.parameters.clone().into_iter().collect();
            let verdict = evaluate(condition, &parameters, None)
                .map_err(|e| LocalError::task(path, format!("condition {condition:?}: {e}")))?;
            if verdict != Value::Bool(true) {
                self.progress
                    .finished(path, Outcome::Skipped, Duration::ZERO);
                self.record(
                    task_dir,
                    TaskRecord::new(path, Outcome::Skipped, task_dir),
                    None,
                )?;
                return Ok(None);
            }
        }
        let component = self
            .component(&task.component_ref.name)
            .map_err(|c| LocalError::task(path, c))?;
        if task.parameter_iterator.is_some() || task.artifact_iterator.is_some() {
            return self
                .run_loop(path, task, component, inputs, platform, task_dir, cancel)
                .map(Some);
        }
        self.run_component(path, task, component, inputs, platform, task_dir, cancel)
            .map(Some)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_component(
        &self,
        path: &str,
        task: &PipelineTaskSpec,
        component: &ComponentSpec,
        inputs: Bindings,
        platform: Option<&TaskPlatform>,
        task_dir: &Path,
        cancel: &AtomicBool,
    ) -> Result<Bindings, LocalError> {
        let inputs = complete_inputs(path, component, inputs)?;
        if let Some(dag) = &component.dag {
            return self.run_dag(path, dag, &inputs, task_dir);
        }
        let label = component
            .executor_label
            .as_deref()
            .ok_or_else(|| LocalError::task(path, "component has neither a dag nor an executor"))?;
        let executor = self
            .spec
            .deployment_spec
            .executors
            .get(label)
            .ok_or_else(|| {
                LocalError::task(path, format!("executor '{label}' is not in deploymentSpec"))
            })?;
        match (&executor.container, &executor.importer) {
            (Some(container), _) if container.command.is_empty() && is_volume_step(container) => {
                self.run_volume_step(path, container, &inputs, task_dir)
            }
            (Some(container), _) => self.run_container(
                path, task, component, container, inputs, platform, task_dir, cancel,
            ),
            (None, Some(importer)) => {
                self.run_importer(path, component, importer, &inputs, task_dir)
            }
            (None, None) => Err(LocalError::task(
                path,
                format!("executor '{label}' has neither a container nor an importer"),
            )),
        }
    }

    /// A `ParallelFor`: the component once per item (item `i` in `TASK/i`), at most
    /// `iteratorPolicy.parallelismLimit` at once; each output becomes the list of the
    /// iterations' values (kfp's `dsl.Collected`).
    #[allow(clippy::too_many_arguments)]
    fn run_loop(
        &self,
        path: &str,
        task: &PipelineTaskSpec,
        component: &ComponentSpec,
        inputs: Bindings,
        platform: Option<&TaskPlatform>,
        task_dir: &Path,
        cancel: &AtomicBool,
    ) -> Result<Bindings, LocalError> {
        let iterations: Vec<Bindings> = loop_iterations(path, task, &inputs)?;
        let limit = task
            .iterator_policy
            .as_ref()
            .map_or(0, |p| p.parallelism_limit.max(0) as usize);
        let window = if limit == 0 {
            iterations.len().max(1)
        } else {
            limit
        };
        let mut results: Vec<Option<Result<Bindings, LocalError>>> =
            (0..iterations.len()).map(|_| None).collect();
        for (chunk_index, chunk) in iterations.chunks(window).enumerate() {
            let chunk_results: Vec<Result<Bindings, LocalError>> = std::thread::scope(|threads| {
                let handles: Vec<_> = chunk
                    .iter()
                    .enumerate()
                    .map(|(offset, item_inputs)| {
                        let index = chunk_index * window + offset;
                        let (item_path, item_dir) =
                            (format!("{path}/{index}"), task_dir.join(index.to_string()));
                        std::thread::Builder::new()
                            .stack_size(TASK_THREAD_STACK)
                            .spawn_scoped(threads, move || {
                                self.run_component(
                                    &item_path,
                                    task,
                                    component,
                                    item_inputs.clone(),
                                    platform,
                                    &item_dir,
                                    cancel,
                                )
                            })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| match h {
                        Ok(handle) => handle.join().unwrap_or_else(|_| {
                            Err(LocalError::task(path, "an iteration panicked"))
                        }),
                        Err(err) => Err(LocalError::task(
                            path,
                            format!("cannot start a thread: {err}"),
                        )),
                    })
                    .collect()
            });
            for (offset, result) in chunk_results.into_iter().enumerate() {
                results[chunk_index * window + offset] = Some(result);
            }
            if cancel.load(Ordering::SeqCst) {
                break;
            }
        }
        // Every output is a list, empty when no iteration produced it (an empty item list, or a
        // producer whose condition never held), as `dsl.Collected` over no values.
        let mut collected = Bindings::default();
        for name in component.output_definitions.parameters.keys() {
            collected.parameters.insert(name.clone(), Value::Array(Vec::new()));
        }
        for name in component.output_definitions.artifacts.keys() {
            collected.artifacts.insert(name.clone(), Vec::new());
        }
        for result in results.into_iter().flatten() {
            let outputs = result?;
            for (name, value) in outputs.parameters {
                match collected
                    .parameters
                    .entry(name)
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(values) => values.push(value),
                    _ => unreachable!("collected outputs are lists"),
                }
            }
            for (name, artifacts) in outputs.artifacts {
                collected
                    .artifacts
                    .entry(name)
                    .or_default()
                    .extend(artifacts);
            }
        }
        Ok(collected)
    }

    /// An importer: records the artifact at the given URI as the task's `artifact` output.
    fn run_importer(
        &self,
        path: &str,
        component: &ComponentSpec,
        importer: &ImporterSpec,
        inputs: &Bindings,
        task_dir: &Path,
    ) -> Result<Bindings, LocalError> {
        let uri = match &importer.artifact_uri {
            ImporterUri::Constant(value) => value.clone(),
            ImporterUri::RuntimeParameter(name) => {
                inputs.parameters.get(name).cloned().ok_or_else(|| {
                    LocalError::task(path, format!("importer input '{name}' has no value"))
                })?
            }
        };
        let uri = uri
            .as_str()
            .ok_or_else(|| LocalError::task(path, format!("importer URI {uri} is not a string")))?
            .to_owned();
        let output = component
            .output_definitions
            .artifacts
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "artifact".into());
        let artifact = RuntimeArtifact {
            name: output.clone(),
            artifact_type: Some(ArtifactTypeRef {
                schema_title: importer.type_schema.schema_title.clone(),
                schema_version: importer
                    .type_schema
                    .schema_version
                    .clone()
                    .unwrap_or_default(),
                ..ArtifactTypeRef::default()
            }),
            uri,
            metadata: Some(importer.metadata.clone().unwrap_or_default()),
            ..RuntimeArtifact::default()
        };
        let outputs = Bindings {
            artifacts: [(output, vec![artifact])].into(),
            ..Bindings::default()
        };
        self.succeeded_at_once(path, task_dir, outputs)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_container(
        &self,
        path: &str,
        task: &PipelineTaskSpec,
        component: &ComponentSpec,
        container: &ContainerSpec,
        inputs: Bindings,
        platform: Option<&TaskPlatform>,
        task_dir: &Path,
        cancel: &AtomicBool,
    ) -> Result<Bindings, LocalError> {
        let mut notices = platform.map(|p| p.notices.clone()).unwrap_or_default();
        let resources = resource_notice(container.resources.as_ref(), &inputs);
        notices.extend(resources.map_err(|cause| LocalError::task(path, cause))?);
        for notice in &notices {
            self.progress.message(&format!("task '{path}': {notice}"));
        }
        let caching = self.cache.as_ref().filter(|_| {
            task.caching_options
                .as_ref()
                .is_some_and(|c| c.enable_cache)
        });
        let cache_key = caching.map(|_| Cache::key(component, container, &inputs));
        if let (Some(cache), Some(key)) = (caching, &cache_key)
            && let Some(entry) = cache.lookup(key)
        {
            self.progress
                .finished(path, Outcome::Cached, Duration::ZERO);
            self.record(
                task_dir,
                TaskRecord {
                    task: path.to_owned(),
                    status: Outcome::Cached.as_str(),
                    attempts: 0,
                    seconds: 0.0,
                    dir: task_dir.to_owned(),
                    cached_from: Some(entry.task_dir.clone()),
                    error: None,
                    notices,
                },
                Some(&entry.outputs),
            )?;
            return Ok(entry.outputs);
        }
        let input = executor_input(component, &inputs, task_dir);
        let input_json = serde_json::to_string(&input).expect("ExecutorInput serialises");
        write_atomic(&task_dir.join("executor_input.json"), input_json.as_bytes()).map_err(
            LocalError::io("cannot write", task_dir.join("executor_input.json")),
        )?;
        let command: Vec<String> = container
            .command
            .iter()
            .chain(&container.args)
            .cloned()
            .collect();
        let Some(program) = command.first() else {
            return Err(LocalError::task(path, "the container has no command"));
        };
        let binary = self
            .binaries
            .resolve(program)
            .map_err(|c| LocalError::task(path, c))?;
        let mut argv = substitute_placeholders(&command, &input, &input_json);
        argv[0] = binary.to_string_lossy().into_owned();
        let mut env: Vec<(String, String)> = container
            .env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .chain(platform.iter().flat_map(|p| p.env.iter().cloned()))
            .collect();
        let log = task_dir.join("log");

        let Some(_slot) = self.slots.acquire(cancel) else {
            return Err(LocalError::task(path, "cancelled before it started"));
        };
        // After the slot: a task waiting for a mount path never holds back the one using it.
        let _mounts = match platform {
            Some(platform) => {
                let (mount_env, guard) = self.platform.mount(path, task_dir, platform, cancel)?;
                env.extend(mount_env);
                Some(guard)
            }
            None => None,
        };
        self.progress.started(path);
        let started = Instant::now();
        let reset = || reset_outputs(task_dir);
        let deadline = platform.and_then(|p| p.deadline);
        let result = run_with_retries(
            &argv,
            &env,
            &log,
            task.retry_policy.as_ref(),
            deadline,
            cancel,
            reset,
        );
        let took = started.elapsed();
        let attempts = match result {
            Ok(attempts) => attempts,
            Err(failure) => {
                let outcome = if failure.cancelled {
                    Outcome::Cancelled
                } else {
                    Outcome::Failed
                };
                return Err(self.task_failed(
                    path,
                    task_dir,
                    failure.cause,
                    failure.attempts,
                    took,
                    outcome,
                ));
            }
        };
        let outputs = collect_outputs(component, &input).map_err(|cause| {
            self.task_failed(path, task_dir, cause, attempts, took, Outcome::Failed)
        })?;
        self.progress.finished(path, Outcome::Succeeded, took);
        self.record(
            task_dir,
            TaskRecord {
                task: path.to_owned(),
                status: Outcome::Succeeded.as_str(),
                attempts,
                seconds: took.as_secs_f64(),
                dir: task_dir.to_owned(),
                cached_from: None,
                error: None,
                notices,
            },
            Some(&outputs),
        )?;
        if let (Some(cache), Some(key)) = (caching, cache_key) {
            let entry = CacheEntry {
                task_dir: task_dir.to_owned(),
                run_id: self.run_id.clone(),
                outputs: outputs.clone(),
            };
            cache.store(&key, &entry).map_err(LocalError::io(
                "cannot write the cache index under",
                self.run_dir.clone(),
            ))?;
        }
        Ok(outputs)
    }
}

impl Run<'_> {
    /// The task's Kubernetes settings with their names resolved in the DAG's scope; `None`
    /// when its executor has none (or it runs a DAG).
    fn task_platform(
        &self,
        path: &str,
        task: &PipelineTaskSpec,
        scope: &Bindings,
        state: &DagState,
        run_info: &RunInfo<'_>,
    ) -> Result<Option<TaskPlatform>, LocalError> {
        let Some(config) = self
            .component(&task.component_ref.name)
            .ok()
            .and_then(|c| c.executor_label.as_deref())
            .and_then(|label| self.platform.config(label))
        else {
            return Ok(None);
        };
        let parameter = |setting: &str, spec: &kfp_compiler::ir::TaskInputParameterSpec| {
            resolve_parameter(path, setting, spec, task, scope, state, run_info)
        };
        self.platform
            .resolve(path, &task.task_info.name, config, &parameter)
            .map(Some)
    }

    /// kfp-kubernetes' `createpvc` / `deletepvc` steps, done here on the run's volume folders.
    fn run_volume_step(
        &self,
        path: &str,
        container: &ContainerSpec,
        inputs: &Bindings,
        task_dir: &Path,
    ) -> Result<Bindings, LocalError> {
        let text = |name: &str| {
            inputs
                .parameters
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let outputs = if container.image == CREATE_PVC_IMAGE {
            let name = match (text("pvc_name"), text("pvc_name_suffix")) {
                (Some(name), _) => name.to_owned(),
                (None, Some(suffix)) => format!("{}{suffix}", self.run_id),
                (None, None) => {
                    return Err(LocalError::task(
                        path,
                        "createpvc needs pvc_name or pvc_name_suffix",
                    ));
                }
            };
            self.platform
                .create_volume(&name)
                .map_err(|c| LocalError::task(path, c))?;
            Bindings {
                parameters: [("name".to_owned(), Value::String(name))].into(),
                ..Bindings::default()
            }
        } else {
            let name = text("pvc_name")
                .ok_or_else(|| LocalError::task(path, "deletepvc has no pvc_name"))?;
            self.platform
                .delete_volume(name)
                .map_err(|c| LocalError::task(path, c))?;
            Bindings::default()
        };
        self.succeeded_at_once(path, task_dir, outputs)
    }

    /// Reports and records a step that ran inside the runner (an importer, a volume step).
    fn succeeded_at_once(&self, path: &str, task_dir: &Path, outputs: Bindings) -> Result<Bindings, LocalError> {
        self.progress.finished(path, Outcome::Succeeded, Duration::ZERO);
        self.record(task_dir, TaskRecord::new(path, Outcome::Succeeded, task_dir), Some(&outputs))?;
        Ok(outputs)
    }

    fn task_failed(
        &self,
        path: &str,
        task_dir: &Path,
        cause: String,
        attempts: u32,
        took: Duration,
        outcome: Outcome,
    ) -> LocalError {
        self.progress.finished(path, outcome, took);
        let record = TaskRecord {
            task: path.to_owned(),
            status: outcome.as_str(),
            attempts,
            seconds: took.as_secs_f64(),
            dir: task_dir.to_owned(),
            cached_from: None,
            error: Some(cause.clone()),
            notices: Vec::new(),
        };
        if let Err(err) = self.record(task_dir, record, None) {
            self.progress.message(&format!("warning: {err}"));
        }
        let log = task_dir.join("log");
        LocalError::TaskFailed {
            task: path.to_owned(),
            cause,
            log_tail: log_tail(&log, LOG_TAIL_LINES),
            log,
        }
    }

    /// Writes `task.json` in the task folder and adds the task to the run record.
    fn record(
        &self,
        task_dir: &Path,
        record: TaskRecord,
        outputs: Option<&Bindings>,
    ) -> Result<(), LocalError> {
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

/// Marker images of kfp-kubernetes' volume steps: the backend does them, no container runs.
const CREATE_PVC_IMAGE: &str = "argostub/createpvc";
const DELETE_PVC_IMAGE: &str = "argostub/deletepvc";

fn is_volume_step(container: &ContainerSpec) -> bool {
    container.image == CREATE_PVC_IMAGE || container.image == DELETE_PVC_IMAGE
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

/// An exit handler's task: it runs when its upstream tasks finished, failed or not.
fn is_exit_task(task: &PipelineTaskSpec) -> bool {
    task.trigger_policy.as_ref().and_then(|t| t.strategy)
        == Some(TriggerStrategy::AllUpstreamTasksCompleted)
}

/// The inputs of each iteration of a loop task: the task's inputs plus the item.
fn loop_iterations(
    path: &str,
    task: &PipelineTaskSpec,
    inputs: &Bindings,
) -> Result<Vec<Bindings>, LocalError> {
    let with_item = |item_input: &str, item: Value| {
        let mut iteration = inputs.clone();
        iteration.parameters.insert(item_input.to_owned(), item);
        iteration
    };
    if let Some(iterator) = &task.parameter_iterator {
        let items = match &iterator.items {
            ParameterItems::Raw(json) => serde_json::from_str::<Value>(json).map_err(|e| {
                LocalError::task(path, format!("loop items {json:?} are not JSON: {e}"))
            })?,
            ParameterItems::InputParameter(name) => {
                inputs.parameters.get(name).cloned().ok_or_else(|| {
                    LocalError::task(path, format!("loop input '{name}' has no value"))
                })?
            }
        };
        // kfp passes a list given as text (a STRING output) parsed.
        let items = match items {
            Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            other => other,
        };
        let Value::Array(items) = items else {
            return Err(LocalError::task(
                path,
                format!("loop items are not a list: {items}"),
            ));
        };
        return Ok(items
            .into_iter()
            .map(|item| with_item(&iterator.item_input, item))
            .collect());
    }
    let iterator = task
        .artifact_iterator
        .as_ref()
        .expect("called for loop tasks");
    let artifacts = inputs
        .artifacts
        .get(&iterator.items.input_artifact)
        .cloned()
        .unwrap_or_default();
    Ok(artifacts
        .into_iter()
        .map(|artifact| {
            let mut iteration = inputs.clone();
            iteration
                .artifacts
                .insert(iterator.item_input.clone(), vec![artifact]);
            iteration
        })
        .collect())
}

fn task_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Each task's upstream tasks: `dependentTasks` plus every producer its inputs name.
fn dependencies<'d>(
    prefix: &str,
    dag: &'d DagSpec,
) -> Result<HashMap<&'d str, BTreeSet<&'d str>>, LocalError> {
    let mut all = HashMap::new();
    for (name, task) in &dag.tasks {
        let mut upstream: BTreeSet<&str> =
            task.dependent_tasks.iter().map(String::as_str).collect();
        for source in task.inputs.parameters.values() {
            match &source.source {
                TaskInputParameter::TaskOutputParameter(output) => {
                    upstream.insert(&output.producer_task);
                }
                TaskInputParameter::TaskFinalStatus(status) => {
                    upstream.insert(&status.producer_task);
                }
                _ => {}
            }
        }
        for source in task.inputs.artifacts.values() {
            if let TaskInputArtifact::TaskOutputArtifact(output) = source {
                upstream.insert(&output.producer_task);
            }
        }
        if let Some(missing) = upstream.iter().find(|u| !dag.tasks.contains_key(**u)) {
            return Err(LocalError::task(
                &task_path(prefix, name),
                format!("depends on task '{missing}', which is not in its DAG"),
            ));
        }
        all.insert(name.as_str(), upstream);
    }
    Ok(all)
}

/// The DAG's outputs from its tasks' outputs, by the `outputs` selectors.
fn dag_outputs(
    prefix: &str,
    dag: &DagSpec,
    completed: &HashMap<String, Bindings>,
) -> Result<Bindings, LocalError> {
    let scope = if prefix.is_empty() { "root" } else { prefix };
    let missing = |what: String| LocalError::task(scope, format!("DAG output {what}"));
    let mut outputs = Bindings::default();
    // A producer skipped by its condition finished with no outputs; inside a loop iteration its
    // output is left out, so `Collected` gathers the iterations where it ran.
    let skipped = |task: &str| {
        completed
            .get(task)
            .is_some_and(|o| o.parameters.is_empty() && o.artifacts.is_empty())
    };
    let parameter = |selector: &ParameterSelector| {
        completed
            .get(&selector.producer_subtask)
            .and_then(|o| o.parameters.get(&selector.output_parameter_key))
    };
    for (name, spec) in &dag.outputs.parameters {
        let value = match spec {
            DagOutputParameterSpec::ValueFromParameter(selector) => match parameter(selector) {
                Some(value) => value,
                None if skipped(&selector.producer_subtask) => continue,
                None => {
                    return Err(missing(format!(
                        "'{name}': task '{}' has no output parameter '{}'",
                        selector.producer_subtask, selector.output_parameter_key
                    )));
                }
            },
            DagOutputParameterSpec::ValueFromOneof(oneof) => {
                let selectors = &oneof.parameter_selectors;
                let found = selectors
                    .iter()
                    .filter_map(|s| Some((s.producer_subtask.as_str(), parameter(s)?)));
                picked_branch(
                    name,
                    selectors.iter().map(|s| s.producer_subtask.as_str()),
                    found,
                )
                .map_err(missing)?
            }
        };
        outputs.parameters.insert(name.clone(), value.clone());
    }
    for (name, spec) in &dag.outputs.artifacts {
        if spec.artifact_selectors.len() > 1 {
            // Several selectors are a `dsl.OneOf`: the one branch that ran produced it.
            let selectors = &spec.artifact_selectors;
            let found = selectors.iter().filter_map(|s| {
                let produced = completed
                    .get(&s.producer_subtask)?
                    .artifacts
                    .get(&s.output_artifact_key)?;
                Some((s.producer_subtask.as_str(), produced))
            });
            let produced = picked_branch(
                name,
                selectors.iter().map(|s| s.producer_subtask.as_str()),
                found,
            )
            .map_err(missing)?;
            outputs.artifacts.insert(name.clone(), produced.clone());
            continue;
        }
        let mut artifacts = Vec::new();
        for selector in &spec.artifact_selectors {
            if skipped(&selector.producer_subtask) {
                continue;
            }
            let produced = completed
                .get(&selector.producer_subtask)
                .and_then(|o| o.artifacts.get(&selector.output_artifact_key))
                .ok_or_else(|| {
                    missing(format!(
                        "'{name}': task '{}' has no output artifact '{}'",
                        selector.producer_subtask, selector.output_artifact_key
                    ))
                })?;
            artifacts.extend(produced.iter().cloned());
        }
        outputs.artifacts.insert(name.clone(), artifacts);
    }
    Ok(outputs)
}

/// The value of a `dsl.OneOf` output: exactly one of the branches (`producers`) may have
/// produced one; the others were skipped.
fn picked_branch<'v, V>(
    name: &str,
    producers: impl Iterator<Item = &'v str>,
    found: impl Iterator<Item = (&'v str, V)>,
) -> Result<V, String> {
    let mut found: Vec<(&str, V)> = found.collect();
    match found.len() {
        1 => Ok(found.remove(0).1),
        0 => Err(format!(
            "'{name}' (OneOf): none of {} produced it, so no branch that gives it a value ran",
            producers
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Err(format!(
            "'{name}' (OneOf): {} all produced it, but OneOf expects exactly one branch to run",
            found
                .iter()
                .map(|(p, _)| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
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
        Self {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
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
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(50))
                .expect("slots lock")
                .0;
        }
    }
}
