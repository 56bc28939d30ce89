//! `ComponentSpec` and its input/output definitions.

use super::{ArtifactTypeSchema, DagSpec, ParameterType};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A component: either a container executor (`executorLabel`) or a DAG of tasks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag: Option<DagSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_label: Option<String>,
    #[serde(default, skip_serializing_if = "ComponentInputsSpec::is_empty")]
    pub input_definitions: ComponentInputsSpec,
    #[serde(default, skip_serializing_if = "ComponentOutputsSpec::is_empty")]
    pub output_definitions: ComponentOutputsSpec,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentInputsSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, InputArtifactSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, InputParameterSpec>,
}

impl ComponentInputsSpec {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentOutputsSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, OutputArtifactSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, OutputParameterSpec>,
}

impl ComponentOutputsSpec {
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// `ComponentInputsSpec.ArtifactSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputArtifactSpec {
    pub artifact_type: ArtifactTypeSchema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_artifact_list: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_optional: bool,
}

/// `ComponentInputsSpec.ParameterSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputParameterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_optional: bool,
    pub parameter_type: ParameterType,
}

/// `ComponentOutputsSpec.ArtifactSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputArtifactSpec {
    pub artifact_type: ArtifactTypeSchema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_artifact_list: bool,
}

/// `ComponentOutputsSpec.ParameterSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputParameterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub parameter_type: ParameterType,
}

fn is_false(b: &bool) -> bool {
    !*b
}
