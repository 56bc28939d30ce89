//! `ExecutorContext`: one component invocation, from the executor input to the files written.

use super::artifact::{Input, Output, OutputState};
use super::error::ExecutorError;
use super::fsio::StagedFiles;
use super::params::{decode, output_text};
use super::paths::{LOCAL_ROOT_ENV, launcher_path_for_uri, local_path_for_uri};
use super::protocol::{ArtifactList, ExecutorInput, ExecutorOutput, RuntimeArtifact};
use kfp_compiler::dsl::{ArtifactType, ComponentReturn, ParamType, ParameterSink};
use kfp_compiler::ir::ParameterType;
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where kfp puts artifacts flagged `_kfp_workspace` (a PVC shared by the run's tasks).
const WORKSPACE_ARTIFACTS: &str = "/kfp-workspace/.artifacts";

/// One invocation of one component: the parsed executor input, the outputs handed to the
/// function, and the writer of the results.
#[derive(Debug)]
pub struct ExecutorContext {
    component: String,
    input: ExecutorInput,
    local_root: Option<PathBuf>,
    outputs: RefCell<Vec<RequestedOutput>>,
}

#[derive(Debug)]
struct RequestedOutput {
    /// The output's name in the component (its key in `outputs.artifacts`).
    key: String,
    state: Arc<OutputState>,
    /// A path the function creates is removed again when the function fails.
    existed_before: bool,
}

impl ExecutorContext {
    /// Parses the `{{$}}` text for `component`. Launcher paths are placed under
    /// `$KFP_LOCAL_PATH_ROOT` when that variable is set and not empty.
    pub fn from_json(executor_input: &str, component: &str) -> Result<Self, ExecutorError> {
        let input: ExecutorInput =
            serde_json::from_str(executor_input).map_err(|err| ExecutorError::MalformedInput {
                component: component.to_owned(),
                cause: err.to_string(),
            })?;
        let local_root = std::env::var_os(LOCAL_ROOT_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Ok(Self {
            component: component.to_owned(),
            input,
            local_root,
            outputs: RefCell::default(),
        })
    }

    /// Places launcher paths (`/minio/...`, `/gcs/...`) under `root`, overriding the variable.
    pub fn with_local_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.local_root = Some(root.into());
        self
    }

    pub fn component(&self) -> &str {
        &self.component
    }

    pub fn executor_input(&self) -> &ExecutorInput {
        &self.input
    }

    /// A required input parameter, converted to `T` (a whole double such as `3.0` becomes an
    /// integer; `3.5` for an integer is an error).
    pub fn param<T: ParamType>(&self, name: &str) -> Result<T, ExecutorError> {
        self.optional_param(name)?.ok_or_else(|| self.missing(name))
    }

    /// An optional input parameter: `None` when absent or null.
    pub fn optional_param<T: ParamType>(&self, name: &str) -> Result<Option<T>, ExecutorError> {
        match self.input.inputs.parameter_values.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => decode::<T>(value)
                .map(Some)
                .map_err(|cause| self.invalid_input(name, cause)),
        }
    }

    /// A required single input artifact of type `A`.
    pub fn input_artifact<A: ArtifactType>(&self, name: &str) -> Result<Input<A>, ExecutorError> {
        self.optional_input_artifact(name)?
            .ok_or_else(|| self.missing(name))
    }

    pub fn optional_input_artifact<A: ArtifactType>(
        &self,
        name: &str,
    ) -> Result<Option<Input<A>>, ExecutorError> {
        let Some(list) = self.input.inputs.artifacts.get(name) else {
            return Ok(None);
        };
        match list.artifacts.as_slice() {
            [] => Ok(None),
            [artifact] => self.to_input(name, artifact).map(Some),
            many => Err(self.invalid_input(
                name,
                format!(
                    "expected one artifact, got a list of {} (declare the input as a list)",
                    many.len()
                ),
            )),
        }
    }

    /// A list-of-artifacts input (`isArtifactList`); empty when absent.
    pub fn input_artifact_list<A: ArtifactType>(
        &self,
        name: &str,
    ) -> Result<Vec<Input<A>>, ExecutorError> {
        let Some(list) = self.input.inputs.artifacts.get(name) else {
            return Ok(Vec::new());
        };
        list.artifacts
            .iter()
            .map(|artifact| self.to_input(name, artifact))
            .collect()
    }

    /// The output artifact `name`; its parent directory is created. The context keeps a shared
    /// handle and reports the metadata the function records.
    pub fn output_artifact<A: ArtifactType>(&self, name: &str) -> Result<Output<A>, ExecutorError> {
        let invalid = |cause: String| ExecutorError::InvalidOutput {
            component: self.component.clone(),
            output: name.to_owned(),
            cause,
        };
        let artifact = self
            .input
            .outputs
            .artifacts
            .get(name)
            .and_then(|list| list.artifacts.first())
            .ok_or_else(|| invalid("not in the executor input".into()))?;
        check_type::<A>(artifact).map_err(invalid)?;
        let path = self.artifact_path(artifact).map_err(invalid)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| self.io("cannot create", parent, source))?;
        }
        let state = Arc::new(OutputState {
            name: artifact.name.clone(),
            uri: artifact.uri.clone(),
            path: path.clone(),
            metadata: Mutex::new(artifact.metadata.clone().unwrap_or_default()),
        });
        self.outputs.borrow_mut().push(RequestedOutput {
            key: name.to_owned(),
            state: Arc::clone(&state),
            existed_before: path.symlink_metadata().is_ok(),
        });
        Ok(Output::from_state(state))
    }

    /// Calls the component function, turning its error or panic into an [`ExecutorError`] that
    /// names the component. An infallible function is passed as
    /// `|| Ok::<_, std::convert::Infallible>(f(..))`.
    pub fn run<R, E: Into<anyhow::Error>>(
        &self,
        function: impl FnOnce() -> Result<R, E>,
    ) -> Result<R, ExecutorError> {
        match super::panics::catch(function) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(ExecutorError::Failed {
                component: self.component.clone(),
                cause: format!("{:#}", err.into()),
            }),
            Err(message) => Err(ExecutorError::Panicked {
                component: self.component.clone(),
                message,
            }),
        }
    }

    /// Writes the results of a successful call: every declared output parameter to its
    /// `outputFile` (as text the launcher parses for its type) and the `ExecutorOutput` JSON
    /// (parameter values plus each output artifact's name, URI and metadata) to
    /// `outputs.outputFile`, all atomically. On an error (from the call or here) nothing is
    /// written, output artifact paths the function created are removed, and the error is
    /// returned.
    pub fn finish<R: ComponentReturn>(
        self,
        result: Result<R, ExecutorError>,
    ) -> Result<(), ExecutorError> {
        let written = result.and_then(|value| self.write_results(value));
        if written.is_err() {
            self.remove_partial_outputs();
        }
        written
    }

    fn write_results<R: ComponentReturn>(&self, value: R) -> Result<(), ExecutorError> {
        let mut returned = ReturnedParameters::default();
        value
            .write_outputs(&mut returned)
            .map_err(|err| ExecutorError::Failed {
                component: self.component.clone(),
                cause: format!("cannot serialise the returned value: {err}"),
            })?;
        let mut files = StagedFiles::default();
        let mut output = ExecutorOutput::default();
        let invalid = |output: &str, cause: String| ExecutorError::InvalidOutput {
            component: self.component.clone(),
            output: output.to_owned(),
            cause,
        };
        if let Some((name, cause)) = returned.duplicates.into_iter().next() {
            return Err(invalid(&name, cause));
        }
        if let Some(name) = self
            .input
            .outputs
            .parameters
            .keys()
            .find(|n| !returned.values.contains_key(*n))
        {
            return Err(invalid(
                name,
                "declared but not returned by the function".into(),
            ));
        }
        for (name, (ty, value)) in returned.values {
            let declared = self.input.outputs.parameters.get(&name).ok_or_else(|| {
                invalid(
                    &name,
                    "returned by the function but not declared in the executor input".into(),
                )
            })?;
            let text = output_text(ty, &value).map_err(|cause| invalid(&name, cause))?;
            let path = Path::new(&declared.output_file);
            files
                .add(path, text.as_bytes())
                .map_err(|source| self.io("cannot write", path, source))?;
            output
                .parameter_values
                .insert(name, protojson_value(ty, value));
        }
        for requested in self.outputs.borrow().iter() {
            let metadata = requested.state.metadata().clone();
            if let Some(key) = null_metadata_key(&metadata) {
                let cause = format!(
                    "metadata '{key}' is null (or NaN/infinite), which the KFP launcher rejects"
                );
                return Err(invalid(&requested.key, cause));
            }
            let artifact = RuntimeArtifact {
                name: requested.state.name.clone(),
                uri: requested.state.uri.clone(),
                metadata: Some(metadata),
                ..RuntimeArtifact::default()
            };
            output.artifacts.insert(
                requested.key.clone(),
                ArtifactList {
                    artifacts: vec![artifact],
                },
            );
        }
        if !self.input.outputs.output_file.is_empty() {
            let path = Path::new(&self.input.outputs.output_file);
            let json = serde_json::to_vec(&output).expect("ExecutorOutput always serialises");
            files
                .add(path, &json)
                .map_err(|source| self.io("cannot write", path, source))?;
        }
        files
            .commit()
            .map_err(|(path, source)| self.io("cannot write", &path, source))
    }

    fn remove_partial_outputs(&self) {
        for requested in self.outputs.borrow().iter().filter(|r| !r.existed_before) {
            let path = &requested.state.path;
            let removed = match path.symlink_metadata() {
                Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
                Ok(_) => std::fs::remove_file(path),
                Err(_) => Ok(()),
            };
            if let Err(err) = removed {
                eprintln!(
                    "warning: component '{}': cannot remove partial output {}: {err}",
                    self.component,
                    path.display()
                );
            }
        }
    }

    fn to_input<A: ArtifactType>(
        &self,
        name: &str,
        artifact: &RuntimeArtifact,
    ) -> Result<Input<A>, ExecutorError> {
        check_type::<A>(artifact).map_err(|cause| self.invalid_input(name, cause))?;
        let path = self
            .artifact_path(artifact)
            .map_err(|cause| self.invalid_input(name, cause))?;
        let metadata = artifact.metadata.clone().unwrap_or_default();
        Ok(Input::new(
            artifact.name.clone(),
            artifact.uri.clone(),
            path,
            metadata,
        ))
    }

    /// The launcher's choice: `customPath`, else the workspace path for `_kfp_workspace`
    /// artifacts, else the URI's mount path; under the local root when there is one.
    fn artifact_path(&self, artifact: &RuntimeArtifact) -> Result<PathBuf, String> {
        if !artifact.custom_path.is_empty() {
            return Ok(PathBuf::from(&artifact.custom_path));
        }
        let in_workspace = artifact
            .metadata
            .as_ref()
            .is_some_and(|m| m.get("_kfp_workspace") == Some(&Value::Bool(true)));
        if in_workspace {
            let mount =
                launcher_path_for_uri(&artifact.uri).ok_or_else(|| no_local_path(&artifact.uri))?;
            let path = Path::new(WORKSPACE_ARTIFACTS).join(mount.trim_start_matches('/'));
            return Ok(match &self.local_root {
                Some(root) => root.join(path.strip_prefix("/").unwrap_or(&path)),
                None => path,
            });
        }
        local_path_for_uri(&artifact.uri, self.local_root.as_deref())
            .ok_or_else(|| no_local_path(&artifact.uri))
    }

    fn missing(&self, input: &str) -> ExecutorError {
        ExecutorError::MissingInput {
            component: self.component.clone(),
            input: input.to_owned(),
        }
    }

    fn invalid_input(&self, input: &str, cause: String) -> ExecutorError {
        ExecutorError::InvalidInput {
            component: self.component.clone(),
            input: input.to_owned(),
            cause,
        }
    }

    fn io(&self, action: &'static str, path: &Path, source: std::io::Error) -> ExecutorError {
        ExecutorError::Io {
            component: self.component.clone(),
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Collects what the function returned, by output name.
#[derive(Default)]
struct ReturnedParameters {
    values: BTreeMap<String, (ParameterType, Value)>,
    duplicates: BTreeMap<String, String>,
}

impl ParameterSink for ReturnedParameters {
    fn put(&mut self, name: &str, ty: ParameterType, value: Value) {
        if self.values.insert(name.to_owned(), (ty, value)).is_some() {
            self.duplicates
                .insert(name.to_owned(), "returned twice".into());
        }
    }
}

/// The executor-output form of a returned value: integers as integers (the launcher reads
/// them as doubles either way), everything else unchanged.
fn protojson_value(ty: ParameterType, value: Value) -> Value {
    match (&value, ty) {
        (Value::Number(n), ParameterType::NumberInteger) if n.is_f64() => n
            .as_f64()
            .map(|f| Value::Number(Number::from(f as i64)))
            .unwrap_or(value),
        _ => value,
    }
}

/// The first key whose value is, or contains, a null.
fn null_metadata_key(metadata: &Map<String, Value>) -> Option<&str> {
    fn has_null(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(map) => map.values().any(has_null),
            _ => false,
        }
    }
    metadata
        .iter()
        .find(|(_, v)| has_null(v))
        .map(|(k, _)| k.as_str())
}

/// Accepts the artifact unless it names a different schema. Upstream artifacts read back from
/// MLMD carry an empty `instanceSchema` instead of a title, and `system.Artifact` takes any.
fn check_type<A: ArtifactType>(artifact: &RuntimeArtifact) -> Result<(), String> {
    let title = artifact
        .artifact_type
        .as_ref()
        .map(|t| t.schema_title.as_str())
        .unwrap_or("");
    if title.is_empty() || title == A::SCHEMA_TITLE || A::SCHEMA_TITLE == "system.Artifact" {
        Ok(())
    } else {
        Err(format!(
            "expected a {} artifact, got {title}",
            A::SCHEMA_TITLE
        ))
    }
}

fn no_local_path(uri: &str) -> String {
    format!(
        "URI '{uri}' has no local path (expected gs://, minio://, s3://, oci:// or an absolute path)"
    )
}
