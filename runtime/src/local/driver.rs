//! What the KFP driver and launcher do around one task, locally: resolve its inputs from the
//! IR's wiring, build the `ExecutorInput`, and read its outputs back after it ran.

use super::error::LocalError;
use crate::executor::protocol::{
    ArtifactList, ArtifactTypeRef, ExecutorInput, ExecutorOutput, Inputs, OutputParameter, Outputs,
    RuntimeArtifact,
};
use kfp_compiler::ir::{
    ComponentSpec, ParameterType, PipelineTaskSpec, TaskInputArtifact, TaskInputParameter,
    TaskInputParameterSpec,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Parameter values and artifacts by name: a component's inputs, or a finished task's outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bindings {
    pub parameters: BTreeMap<String, Value>,
    pub artifacts: BTreeMap<String, Vec<RuntimeArtifact>>,
}

/// Run-wide values that `runtimeValue` constants may name (`{{$.pipeline_job_name}}`, ...).
pub struct RunInfo<'a> {
    pub pipeline_name: &'a str,
    pub run_id: &'a str,
}

/// What the tasks of one DAG have done so far.
#[derive(Default)]
pub struct DagState {
    /// Finished tasks' outputs (a skipped task has none).
    pub completed: HashMap<String, Bindings>,
    /// Failed tasks, with the error.
    pub failed: HashMap<String, String>,
}

impl DagState {
    /// The outputs of `producer`, which input `input` of `task_path` reads: an error when the
    /// producer has not run (the graph's dependencies should have made it run first).
    fn producer(&self, task_path: &str, input: &str, producer: &str) -> Result<&Bindings, LocalError> {
        self.completed
            .get(producer)
            .ok_or_else(|| LocalError::task(task_path, format!("input '{input}': producer task '{producer}' has not run")))
    }
}

/// The task's inputs from its wiring: constants, the enclosing DAG's inputs, upstream outputs,
/// upstream final states (exit handlers), each through its expression selector if any.
pub fn resolve_task_inputs(
    task_path: &str,
    task: &PipelineTaskSpec,
    scope: &Bindings,
    state: &DagState,
    run: &RunInfo<'_>,
) -> Result<Bindings, LocalError> {
    let mut inputs = Bindings::default();
    for (name, spec) in &task.inputs.parameters {
        // A null feeding an optional input is skipped, as the driver does.
        if let Some(value) = resolve_parameter(task_path, name, spec, task, scope, state, run)?
            .filter(|v| !v.is_null())
        {
            inputs.parameters.insert(name.clone(), value);
        }
    }
    for (name, source) in &task.inputs.artifacts {
        let artifacts = match source {
            TaskInputArtifact::ComponentInputArtifact(input) => scope.artifacts.get(input).cloned(),
            TaskInputArtifact::TaskOutputArtifact(output) => {
                let producer = state.producer(task_path, name, &output.producer_task)?;
                producer.artifacts.get(&output.output_artifact_key).cloned()
            }
        };
        if let Some(artifacts) = artifacts {
            inputs.artifacts.insert(name.clone(), artifacts);
        }
    }
    Ok(inputs)
}

/// One parameter from its wiring (`name` is the input, or the setting, it feeds): `None`
/// when its source has no value (an unset DAG input, a skipped producer).
pub fn resolve_parameter(
    task_path: &str,
    name: &str,
    spec: &TaskInputParameterSpec,
    task: &PipelineTaskSpec,
    scope: &Bindings,
    state: &DagState,
    run: &RunInfo<'_>,
) -> Result<Option<Value>, LocalError> {
    let value = match &spec.source {
        TaskInputParameter::TaskFinalStatus(status) => {
            Some(final_status(&status.producer_task, state, run))
        }
        TaskInputParameter::RuntimeValue(runtime) => {
            Some(runtime_constant(&runtime.constant, task, run))
        }
        TaskInputParameter::ComponentInputParameter(input) => scope.parameters.get(input).cloned(),
        TaskInputParameter::TaskOutputParameter(output) => {
            let producer = state.producer(task_path, name, &output.producer_task)?;
            // A producer skipped by its condition has no outputs: the input stays unset.
            producer
                .parameters
                .get(&output.output_parameter_key)
                .cloned()
        }
    };
    match (&spec.parameter_expression_selector, value) {
        (Some(selector), Some(value)) => super::cel::evaluate(selector, &Map::new(), Some(&value))
            .map(Some)
            .map_err(|e| {
                LocalError::task(task_path, format!("input '{name}': selector {selector:?}: {e}"))
            }),
        (_, value) => Ok(value),
    }
}

/// `PipelineTaskFinalStatus` as kfp's executor reads it.
fn final_status(producer: &str, state: &DagState, run: &RunInfo<'_>) -> Value {
    let (status, message) = match state.failed.get(producer) {
        Some(error) => ("FAILED", error.lines().next().unwrap_or_default()),
        None => ("SUCCEEDED", ""),
    };
    serde_json::json!({
        "error": {"code": if message.is_empty() { 0 } else { 1 }, "message": message},
        "pipelineJobResourceName": run.run_id,
        "pipelineTaskName": producer,
        "state": status,
    })
}

fn runtime_constant(value: &Value, task: &PipelineTaskSpec, run: &RunInfo<'_>) -> Value {
    let replacement = match value.as_str() {
        Some("{{$.pipeline_job_name}}") => run.pipeline_name,
        Some("{{$.pipeline_job_resource_name}}" | "{{$.pipeline_job_uuid}}") => run.run_id,
        Some("{{$.pipeline_task_name}}") => task.task_info.name.as_str(),
        _ => return value.clone(),
    };
    Value::String(replacement.to_owned())
}

/// The driver's checks and the launcher's defaults: every declared input gets its value or its
/// default, a required input without either is an error, values must fit their types, and a
/// non-string given to a STRING input becomes its text.
pub fn complete_inputs(
    task_path: &str,
    component: &ComponentSpec,
    mut inputs: Bindings,
) -> Result<Bindings, LocalError> {
    for (name, spec) in &component.input_definitions.parameters {
        match inputs.parameters.get_mut(name) {
            Some(value) => {
                if spec.parameter_type == ParameterType::String && !value.is_string() {
                    *value = Value::String(parameter_text(value));
                }
                if !spec.parameter_type.accepts(value) {
                    return Err(LocalError::task(
                        task_path,
                        format!(
                            "input '{name}': type mismatch: expected {}, got {value}",
                            spec.parameter_type.as_str()
                        ),
                    ));
                }
            }
            None => match spec.default_value.as_ref().filter(|d| !d.is_null()) {
                Some(default) => {
                    inputs.parameters.insert(name.clone(), default.clone());
                }
                None if spec.is_optional => {}
                None => {
                    return Err(LocalError::task(
                        task_path,
                        format!(
                            "input '{name}': neither value nor default value provided for non-optional parameter"
                        ),
                    ));
                }
            },
        }
    }
    for (name, spec) in &component.input_definitions.artifacts {
        if !inputs.artifacts.contains_key(name) && !spec.is_optional && !spec.is_artifact_list {
            return Err(LocalError::task(
                task_path,
                format!("input artifact '{name}' is not supplied"),
            ));
        }
    }
    for value in inputs.parameters.values_mut() {
        *value = as_protojson_numbers(value);
    }
    Ok(inputs)
}

/// Every number as protojson writes a double: whole values without a fraction (`3`, not `3.0`).
fn as_protojson_numbers(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::Number(Number::from(f as i64))
            }
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(as_protojson_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), as_protojson_numbers(v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The `ExecutorInput` the driver provisions, with local paths: output parameter files in
/// `TASK_DIR/outputs/`, output artifacts at `TASK_DIR/artifacts/<name>` (the URI is that
/// absolute path), and the executor output at `TASK_DIR/output_metadata.json`.
pub fn executor_input(
    component: &ComponentSpec,
    inputs: &Bindings,
    task_dir: &Path,
) -> ExecutorInput {
    let local = |path: std::path::PathBuf| path.to_string_lossy().into_owned();
    let parameters = component
        .output_definitions
        .parameters
        .keys()
        .map(|name| {
            (
                name.clone(),
                OutputParameter {
                    output_file: local(task_dir.join("outputs").join(name)),
                },
            )
        })
        .collect();
    let artifacts = component
        .output_definitions
        .artifacts
        .iter()
        .map(|(name, spec)| {
            let artifact = RuntimeArtifact {
                name: name.clone(),
                artifact_type: Some(ArtifactTypeRef {
                    schema_title: spec.artifact_type.schema_title.clone(),
                    schema_version: spec
                        .artifact_type
                        .schema_version
                        .clone()
                        .unwrap_or_default(),
                    ..ArtifactTypeRef::default()
                }),
                uri: local(task_dir.join("artifacts").join(name)),
                ..RuntimeArtifact::default()
            };
            (
                name.clone(),
                ArtifactList {
                    artifacts: vec![artifact],
                },
            )
        })
        .collect();
    ExecutorInput {
        inputs: Inputs {
            artifacts: inputs
                .artifacts
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        ArtifactList {
                            artifacts: v.clone(),
                        },
                    )
                })
                .collect(),
            parameter_values: inputs.parameters.clone(),
        },
        outputs: Outputs {
            parameters,
            artifacts,
            output_file: local(task_dir.join("output_metadata.json")),
        },
    }
}

/// The launcher's `collectOutputParameters` and artifact merge: an executor-output parameter
/// value wins over the file; the file is parsed by the declared type; artifact metadata from
/// the executor output is merged into the provisioned artifact.
pub fn collect_outputs(
    component: &ComponentSpec,
    input: &ExecutorInput,
) -> Result<Bindings, String> {
    let output_file = Path::new(&input.outputs.output_file);
    let executor_output: ExecutorOutput = match std::fs::read_to_string(output_file) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{}: invalid executor output: {e}", output_file.display()))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => ExecutorOutput::default(),
        Err(err) => return Err(format!("{}: {err}", output_file.display())),
    };
    let mut outputs = Bindings::default();
    for (name, spec) in &component.output_definitions.parameters {
        let value = match executor_output.parameter_values.get(name) {
            Some(value) => value.clone(),
            None => {
                let path = &input.outputs.parameters[name].output_file;
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("failed to read output parameter name=\"{name}\" type=\"{}\" path=\"{path}\": {e}", spec.parameter_type.as_str())
                })?;
                parse_output_text(spec.parameter_type, &text).map_err(|cause| {
                    format!("failed to read output parameter name=\"{name}\" type=\"{}\" path=\"{path}\": {cause}", spec.parameter_type.as_str())
                })?
            }
        };
        outputs
            .parameters
            .insert(name.clone(), as_protojson_numbers(&value));
    }
    for (name, provisioned) in &input.outputs.artifacts {
        let mut artifact = provisioned.artifacts[0].clone();
        if let Some(produced) = executor_output
            .artifacts
            .get(name)
            .and_then(|l| l.artifacts.first())
        {
            if !produced.uri.is_empty() {
                artifact.uri = produced.uri.clone();
            }
            if let Some(metadata) = &produced.metadata {
                artifact
                    .metadata
                    .get_or_insert_with(Default::default)
                    .extend(metadata.clone());
            }
        }
        outputs.artifacts.insert(name.clone(), vec![artifact]);
    }
    Ok(outputs)
}

/// `TextToPbValue`: the text of an output parameter file, parsed by the declared type.
fn parse_output_text(ty: ParameterType, text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    match ty {
        ParameterType::String => Ok(Value::String(text.to_owned())),
        ParameterType::NumberInteger => trimmed
            .parse::<i64>()
            .map(Value::from)
            .map_err(|e| format!("cannot parse integer {trimmed:?}: {e}")),
        ParameterType::NumberDouble => trimmed
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("cannot parse number {trimmed:?}")),
        ParameterType::Boolean => match trimmed {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Value::Bool(false)),
            _ => Err(format!("cannot parse boolean {trimmed:?}")),
        },
        ParameterType::List | ParameterType::Struct | ParameterType::TaskFinalStatus => {
            let value: Value =
                serde_json::from_str(trimmed).map_err(|e| format!("invalid JSON: {e}"))?;
            if ty.accepts(&value) {
                Ok(value)
            } else {
                Err(format!("expected {}, got {trimmed}", ty.as_str()))
            }
        }
    }
}

/// `PbValueToText`, the text of `{{$.inputs.parameters['x']}}`: strings raw, numbers without an
/// exponent, lists and structs as compact JSON.
pub fn parameter_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n
                .as_f64()
                .map(|f| f.to_string())
                .unwrap_or_else(|| n.to_string()),
        },
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The command line with the launcher's placeholders substituted.
pub fn substitute_placeholders(
    argv: &[String],
    input: &ExecutorInput,
    input_json: &str,
) -> Vec<String> {
    let mut replacements: Vec<(String, String)> = vec![("{{$}}".into(), input_json.to_owned())];
    for (name, value) in &input.inputs.parameter_values {
        replacements.push((
            format!("{{{{$.inputs.parameters['{name}']}}}}"),
            parameter_text(value),
        ));
    }
    for (name, list) in &input.inputs.artifacts {
        if let Some(first) = list.artifacts.first() {
            replacements.push((
                format!("{{{{$.inputs.artifacts['{name}'].uri}}}}"),
                first.uri.clone(),
            ));
            replacements.push((
                format!("{{{{$.inputs.artifacts['{name}'].path}}}}"),
                first.uri.clone(),
            ));
        }
    }
    for (name, list) in &input.outputs.artifacts {
        if let Some(first) = list.artifacts.first() {
            replacements.push((
                format!("{{{{$.outputs.artifacts['{name}'].uri}}}}"),
                first.uri.clone(),
            ));
            replacements.push((
                format!("{{{{$.outputs.artifacts['{name}'].path}}}}"),
                first.uri.clone(),
            ));
        }
    }
    for (name, parameter) in &input.outputs.parameters {
        replacements.push((
            format!("{{{{$.outputs.parameters['{name}'].output_file}}}}"),
            parameter.output_file.clone(),
        ));
    }
    replacements.push((
        "{{$.outputs.output_file}}".into(),
        input.outputs.output_file.clone(),
    ));
    argv.iter()
        .map(|arg| {
            replacements
                .iter()
                .fold(arg.clone(), |text, (pattern, value)| {
                    if text.contains(pattern.as_str()) {
                        text.replace(pattern.as_str(), value)
                    } else {
                        text
                    }
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_text_parses_like_the_launcher() {
        assert_eq!(
            parse_output_text(ParameterType::NumberInteger, " 42\n").unwrap(),
            json!(42)
        );
        assert!(parse_output_text(ParameterType::NumberInteger, "3.5").is_err());
        assert_eq!(
            parse_output_text(ParameterType::Boolean, "T").unwrap(),
            json!(true)
        );
        assert!(parse_output_text(ParameterType::Boolean, "yes").is_err());
        assert_eq!(
            parse_output_text(ParameterType::String, " a \n").unwrap(),
            json!(" a \n")
        );
        assert_eq!(
            parse_output_text(ParameterType::List, "[1, \"a\"]").unwrap(),
            json!([1, "a"])
        );
    }

    #[test]
    fn parameter_text_has_no_exponent() {
        assert_eq!(parameter_text(&json!(0.00001)), "0.00001");
        assert_eq!(parameter_text(&json!(3)), "3");
        assert_eq!(parameter_text(&json!({"b": 1})), r#"{"b":1}"#);
    }
}
