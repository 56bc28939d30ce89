//! One task: its condition, then its loop, its sub-DAG, or its executor (a container, or a
//! step the runner does itself with no process: an importer, kfp-kubernetes' `createpvc` /
//! `deletepvc` volume steps).

use super::record::TaskRecord;
use super::{Run, TaskCall};
use crate::executor::protocol::{ArtifactTypeRef, RuntimeArtifact};
use crate::local::cel::evaluate;
use crate::local::driver::{Bindings, complete_inputs};
use crate::local::error::LocalError;
use crate::local::progress::Outcome;
use kfp_compiler::ir::{ComponentSpec, ContainerSpec, ImporterSpec, ImporterUri};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;

impl Run<'_> {
    /// Runs one task: its condition, its loop, then its component. `None` when its condition
    /// was false.
    pub(super) fn run_task(&self, call: TaskCall<'_>, inputs: Bindings) -> Result<Option<Bindings>, LocalError> {
        let TaskCall { path, task, dir: task_dir, .. } = call;
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
            return self.run_loop(call, component, inputs).map(Some);
        }
        self.run_component(call, component, inputs).map(Some)
    }

    pub(super) fn run_component(&self, call: TaskCall<'_>, component: &ComponentSpec, inputs: Bindings) -> Result<Bindings, LocalError> {
        let TaskCall { path, dir: task_dir, .. } = call;
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
            (Some(container), _) => self.run_container(call, component, container, inputs),
            (None, Some(importer)) => {
                self.run_importer(path, component, importer, &inputs, task_dir)
            }
            (None, None) => Err(LocalError::task(
                path,
                format!("executor '{label}' has neither a container nor an importer"),
            )),
        }
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
}

/// Marker images of kfp-kubernetes' volume steps: the backend does them, no container runs.
const CREATE_PVC_IMAGE: &str = "argostub/createpvc";
const DELETE_PVC_IMAGE: &str = "argostub/deletepvc";

fn is_volume_step(container: &ContainerSpec) -> bool {
    container.image == CREATE_PVC_IMAGE || container.image == DELETE_PVC_IMAGE
}
