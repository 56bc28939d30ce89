//! `ParallelFor`: the loop body once per item, a window of iterations at a time, and each
//! output collected into a list.

use super::{Run, TASK_THREAD_STACK, TaskCall};
use crate::local::driver::Bindings;
use crate::local::error::LocalError;
use kfp_compiler::ir::{ComponentSpec, ParameterItems, PipelineTaskSpec};
use serde_json::Value;
use std::sync::atomic::Ordering;

impl Run<'_> {
    /// A `ParallelFor`: the component once per item (item `i` in `TASK/i`), at most
    /// `iteratorPolicy.parallelismLimit` at once; each output becomes the list of the
    /// iterations' values (kfp's `dsl.Collected`).
    pub(super) fn run_loop(&self, call: TaskCall<'_>, component: &ComponentSpec, inputs: Bindings) -> Result<Bindings, LocalError> {
        let TaskCall { path, task, dir: task_dir, cancel, .. } = call;
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
                                let item = TaskCall { path: &item_path, dir: &item_dir, ..call };
                                self.run_component(item, component, item_inputs.clone())
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
