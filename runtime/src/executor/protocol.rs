//! The JSON messages of the KFP v2 executor protocol: `ExecutorInput` (the `{{$}}` placeholder)
//! and `ExecutorOutput` (the file at `outputs.outputFile`).
//!
//! Fields are declared in proto field order and maps are `BTreeMap`s, so serialising gives the
//! same field order and sorted keys as Go's `protojson.Marshal` in the KFP launcher. Reading is
//! lenient the way protojson is: both the JSON (`parameterValues`) and the proto
//! (`parameter_values`) field names are accepted, and unknown fields (the deprecated
//! `inputs.parameters`, `properties`, ...) are ignored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `ExecutorInput`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorInput {
    #[serde(default)]
    pub inputs: Inputs,
    #[serde(default)]
    pub outputs: Outputs,
}

/// `ExecutorInput.Inputs`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactList>,
    #[serde(
        default,
        alias = "parameter_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub parameter_values: BTreeMap<String, Value>,
}

/// `ExecutorInput.Outputs`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outputs {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, OutputParameter>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactList>,
    #[serde(
        default,
        alias = "output_file",
        skip_serializing_if = "String::is_empty"
    )]
    pub output_file: String,
}

/// `ExecutorInput.OutputParameter`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputParameter {
    #[serde(default, alias = "output_file")]
    pub output_file: String,
}

/// `ArtifactList`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ArtifactList {
    #[serde(default)]
    pub artifacts: Vec<RuntimeArtifact>,
}

/// `RuntimeArtifact`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeArtifact {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<ArtifactTypeRef>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(
        default,
        alias = "custom_path",
        skip_serializing_if = "String::is_empty"
    )]
    pub custom_path: String,
}

/// `ArtifactTypeSchema` as it appears in an executor input: a schema title from the component
/// spec, or an empty `instanceSchema` for an upstream artifact read back from MLMD.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactTypeRef {
    #[serde(
        default,
        alias = "schema_title",
        skip_serializing_if = "String::is_empty"
    )]
    pub schema_title: String,
    #[serde(
        default,
        alias = "instance_schema",
        skip_serializing_if = "String::is_empty"
    )]
    pub instance_schema: String,
    #[serde(
        default,
        alias = "schema_version",
        skip_serializing_if = "String::is_empty"
    )]
    pub schema_version: String,
}

/// `ExecutorOutput`, as kfp's Python executor writes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorOutput {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactList>,
    #[serde(
        default,
        alias = "parameter_values",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub parameter_values: BTreeMap<String, Value>,
}
