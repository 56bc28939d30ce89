//! A container task: its notices, the cache, the executor input, then the executor process
//! (in a slot, with its mounts, retried by its policy), and its outputs.

use super::record::TaskRecord;
use super::{Run, TaskCall};
use crate::executor::fsio::write_atomic;
use crate::local::cache::{Cache, CacheEntry};
use crate::local::driver::{Bindings, collect_outputs, executor_input, substitute_placeholders};
use crate::local::error::LocalError;
use crate::local::process::run_with_retries;
use crate::local::progress::Outcome;
use crate::local::resources::resource_notice;
use kfp_compiler::ir::{ComponentSpec, ContainerSpec};
use std::path::Path;
use std::time::{Duration, Instant};

impl Run<'_> {
    pub(super) fn run_container(
        &self,
        call: TaskCall<'_>,
        component: &ComponentSpec,
        container: &ContainerSpec,
        inputs: Bindings,
    ) -> Result<Bindings, LocalError> {
        let TaskCall { path, task, platform, dir: task_dir, cancel } = call;
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
