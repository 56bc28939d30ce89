//! Typed mirror of the parts of `api/v2alpha1/pipeline_spec.proto` that kfp-rs emits and reads.
//!
//! Field names follow proto3 JSON (camelCase). Fields are declared in alphabetical order and maps
//! are `BTreeMap`s, so serialising gives the same key order as `kfp.compiler.Compiler` (which
//! dumps with `sort_keys=True`). The compiler builds these structs; the executor and the local
//! runner read them back.

mod component;
mod dag;
mod deployment;
mod platform;

pub use component::*;
pub use dag::*;
pub use deployment::*;
pub use platform::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The only schema version the KFP 2.x API server accepts.
pub const SCHEMA_VERSION: &str = "2.1.0";

/// A compiled pipeline: the first YAML document of an IR file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, ComponentSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pipeline_root: Option<String>,
    pub deployment_spec: DeploymentSpec,
    pub pipeline_info: PipelineInfo,
    pub root: ComponentSpec,
    pub schema_version: String,
    pub sdk_version: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub name: String,
}

/// `ParameterType.ParameterTypeEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterType {
    NumberDouble,
    NumberInteger,
    String,
    Boolean,
    List,
    Struct,
    TaskFinalStatus,
}

impl ParameterType {
    /// The proto enum name, as written in IR.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NumberDouble => "NUMBER_DOUBLE",
            Self::NumberInteger => "NUMBER_INTEGER",
            Self::String => "STRING",
            Self::Boolean => "BOOLEAN",
            Self::List => "LIST",
            Self::Struct => "STRUCT",
            Self::TaskFinalStatus => "TASK_FINAL_STATUS",
        }
    }

    /// Whether a JSON value (as IR and the executor input carry it) fits this type.
    /// Integers arrive as doubles, so `3.0` fits NUMBER_INTEGER and `3.5` does not.
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (self, value) {
            (Self::String, Value::String(_)) => true,
            (Self::NumberDouble, Value::Number(_)) => true,
            (Self::NumberInteger, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            (Self::Boolean, Value::Bool(_)) => true,
            (Self::List, Value::Array(_)) => true,
            (Self::Struct | Self::TaskFinalStatus, Value::Object(_)) => true,
            _ => false,
        }
    }
}

/// `ArtifactTypeSchema` with a schema title (the only form kfp-rs writes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactTypeSchema {
    pub schema_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
}
