//! `DagSpec`: tasks, their inputs, and DAG outputs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DagSpec {
    #[serde(default, skip_serializing_if = "DagOutputsSpec::is_empty")]
    pub outputs: DagOutputsSpec,
    #[serde(default)]
    pub tasks: BTreeMap<String, PipelineTaskSpec>,
}

/// `PipelineTaskSpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineTaskSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_iterator: Option<ArtifactIteratorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching_options: Option<CachingOptions>,
    pub component_ref: ComponentRef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependent_tasks: Vec<String>,
    #[serde(default, skip_serializing_if = "TaskInputsSpec::is_empty")]
    pub inputs: TaskInputsSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterator_policy: Option<IteratorPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_iterator: Option<ParameterIteratorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    pub task_info: PipelineTaskInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_policy: Option<TriggerPolicy>,
}

/// `ParameterIteratorSpec`: a `ParallelFor` over a list parameter or a literal list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterIteratorSpec {
    pub item_input: String,
    pub items: ParameterItems,
}

/// The items of a parameter iterator: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ParameterItems {
    /// The list as JSON text.
    Raw(String),
    /// The name of a list input of the loop component.
    InputParameter(String),
}

/// `ArtifactIteratorSpec`: a `ParallelFor` over a list of artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactIteratorSpec {
    pub item_input: String,
    pub items: ArtifactItems,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactItems {
    pub input_artifact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IteratorPolicy {
    pub parallelism_limit: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CachingOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
    /// kfp writes `cachingOptions: {}` for a task with caching off, so `false` is omitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_cache: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRef {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineTaskInfo {
    pub name: String,
}

/// `PipelineTaskSpec.RetryPolicy`; durations are proto3 JSON strings such as `0s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    pub backoff_duration: String,
    pub backoff_factor: f64,
    pub backoff_max_duration: String,
    pub max_retry_count: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<TriggerStrategy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerStrategy {
    AllUpstreamTasksSucceeded,
    AllUpstreamTasksCompleted,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInputsSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, TaskInputArtifact>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, TaskInputParameterSpec>,
}

impl TaskInputsSpec {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// `TaskInputsSpec.InputParameterSpec`: a source, and for struct loop items the field to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskInputParameterSpec {
    #[serde(flatten)]
    pub source: TaskInputParameter,
    /// A CEL expression on the value, such as `parseJson(string_value)["a"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_expression_selector: Option<String>,
}

impl From<TaskInputParameter> for TaskInputParameterSpec {
    fn from(source: TaskInputParameter) -> Self {
        Self { source, parameter_expression_selector: None }
    }
}

/// The source of a task's input parameter: exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TaskInputParameter {
    ComponentInputParameter(String),
    RuntimeValue(RuntimeValue),
    TaskFinalStatus(TaskFinalStatusSpec),
    TaskOutputParameter(TaskOutputParameterSpec),
}

/// The final status of the task a task runs after (an exit handler's cleanup task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskFinalStatusSpec {
    pub producer_task: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeValue {
    pub constant: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskOutputParameterSpec {
    pub output_parameter_key: String,
    pub producer_task: String,
}

/// `TaskInputsSpec.InputArtifactSpec`: exactly one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum TaskInputArtifact {
    ComponentInputArtifact(String),
    TaskOutputArtifact(TaskOutputArtifactSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskOutputArtifactSpec {
    pub output_artifact_key: String,
    pub producer_task: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagOutputsSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, DagOutputArtifactSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, DagOutputParameterSpec>,
}

impl DagOutputsSpec {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// `DagOutputsSpec.DagOutputArtifactSpec`; several selectors for a `dsl.OneOf` over branches,
/// of which exactly one produces the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DagOutputArtifactSpec {
    pub artifact_selectors: Vec<ArtifactSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactSelector {
    pub output_artifact_key: String,
    pub producer_subtask: String,
}

/// `DagOutputsSpec.DagOutputParameterSpec`: exactly one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DagOutputParameterSpec {
    ValueFromParameter(ParameterSelector),
    /// The value of whichever selected subtask produced one (`dsl.OneOf` over branches).
    ValueFromOneof(ParameterSelectors),
}

/// `DagOutputsSpec.ParameterSelectorsSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterSelectors {
    pub parameter_selectors: Vec<ParameterSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterSelector {
    pub output_parameter_key: String,
    pub producer_subtask: String,
}
