//! The task graph walk: a DAG's tasks start once their upstream tasks finished, each on a
//! thread of its own, and the walk stops launching at the first failure.

use super::outputs::dag_outputs;
use super::{Run, TASK_THREAD_STACK, TaskCall};
use crate::local::driver::{Bindings, DagState, RunInfo, resolve_parameter, resolve_task_inputs};
use crate::local::error::LocalError;
use crate::local::platform::TaskPlatform;
use kfp_compiler::ir::{DagSpec, PipelineTaskSpec, TaskInputArtifact, TaskInputParameter, TriggerStrategy};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

impl Run<'_> {
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
                            let call = TaskCall { path: &path, task, platform: platform.as_ref(), dir: &task_dir, cancel };
                            let result = self.run_task(call, inputs);
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
}

/// An exit handler's task: it runs when its upstream tasks finished, failed or not.
fn is_exit_task(task: &PipelineTaskSpec) -> bool {
    task.trigger_policy.as_ref().and_then(|t| t.strategy)
        == Some(TriggerStrategy::AllUpstreamTasksCompleted)
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
