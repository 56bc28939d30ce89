//! A DAG's outputs, picked from its tasks' outputs by the DAG's selectors (a `dsl.OneOf`
//! from the one branch that ran).

use crate::local::driver::Bindings;
use crate::local::error::LocalError;
use kfp_compiler::ir::{DagOutputParameterSpec, DagSpec, ParameterSelector};
use std::collections::HashMap;

/// The DAG's outputs from its tasks' outputs, by the `outputs` selectors.
pub(super) fn dag_outputs(
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
