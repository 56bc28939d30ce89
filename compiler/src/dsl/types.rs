//! How Rust types map to IR types: parameters (`ParamType`) and artifacts (`ArtifactType`).

use crate::ir::{ArtifactTypeSchema, ParameterType};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};

/// A Rust type that can travel as a KFP parameter.
///
/// Implemented for strings, integers, floats, bools, `Vec<T>` (LIST), string-keyed maps and
/// `serde_json::Value` (STRUCT). A user's serde struct opts in with `#[derive(StructParam)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a pipeline parameter",
    note = "parameters are String, integers, f32/f64, bool, Vec<T>, string-keyed maps, serde_json::Value, or a serde struct with #[derive(StructParam)]"
)]
pub trait ParamType: Serialize + DeserializeOwned + 'static {
    const TYPE: ParameterType;
}

macro_rules! param_types {
    ($kind:ident: $($t:ty),*) => { $(impl ParamType for $t { const TYPE: ParameterType = ParameterType::$kind; })* };
}
param_types!(String: String);
param_types!(NumberInteger: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
param_types!(NumberDouble: f32, f64);
param_types!(Boolean: bool);
param_types!(Struct: serde_json::Value);

impl<T: Serialize + DeserializeOwned + 'static> ParamType for Vec<T> {
    const TYPE: ParameterType = ParameterType::List;
}
impl<V: Serialize + DeserializeOwned + 'static> ParamType for BTreeMap<String, V> {
    const TYPE: ParameterType = ParameterType::Struct;
}
impl<V: Serialize + DeserializeOwned + 'static, S: std::hash::BuildHasher + Default + 'static> ParamType
    for HashMap<String, V, S>
{
    const TYPE: ParameterType = ParameterType::Struct;
}

/// A KFP artifact type: a marker type naming an MLMD schema such as `system.Dataset`.
///
/// User-defined artifact types implement it with `kfp::artifact_type!(MyType, "acme.MyType")`.
pub trait ArtifactType: 'static {
    const SCHEMA_TITLE: &'static str;
    const SCHEMA_VERSION: &'static str = "0.0.1";

    fn schema() -> ArtifactTypeSchema {
        ArtifactTypeSchema {
            schema_title: Self::SCHEMA_TITLE.to_owned(),
            schema_version: Some(Self::SCHEMA_VERSION.to_owned()),
        }
    }
}

/// Declares an artifact marker type: `artifact_type!(VertexModel, "google.VertexModel");`.
#[macro_export]
macro_rules! artifact_type {
    ($(#[$meta:meta])* $name:ident, $title:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl $crate::dsl::ArtifactType for $name {
            const SCHEMA_TITLE: &'static str = $title;
        }
    };
}

artifact_type!(/// A generic artifact (`system.Artifact`).
    Artifact, "system.Artifact");
artifact_type!(/// A data set (`system.Dataset`).
    Dataset, "system.Dataset");
artifact_type!(/// A trained model (`system.Model`).
    Model, "system.Model");
artifact_type!(/// Scalar metrics shown in the KFP UI (`system.Metrics`).
    Metrics, "system.Metrics");
artifact_type!(/// Confusion matrix and ROC curve (`system.ClassificationMetrics`).
    ClassificationMetrics, "system.ClassificationMetrics");
artifact_type!(/// Per-slice classification metrics (`system.SlicedClassificationMetrics`).
    SlicedClassificationMetrics, "system.SlicedClassificationMetrics");
artifact_type!(/// An HTML page rendered by the KFP UI (`system.HTML`).
    Html, "system.HTML");
artifact_type!(/// A Markdown page rendered by the KFP UI (`system.Markdown`).
    Markdown, "system.Markdown");

/// How the tasks of an `ExitHandler` ended, for its cleanup task (kfp's
/// `PipelineTaskFinalStatus`). A component input of this type is filled by the pipeline, not by
/// the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFinalStatus {
    /// `SUCCEEDED`, `FAILED`, `CANCELLED`, ...
    pub state: String,
    #[serde(default)]
    pub pipeline_job_resource_name: String,
    #[serde(default)]
    pub pipeline_task_name: String,
    #[serde(default)]
    pub error: TaskError,
}

/// The error of a failed task, as the KFP backend reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TaskError {
    #[serde(default)]
    pub code: i32,
    #[serde(default)]
    pub message: String,
}

impl ParamType for TaskFinalStatus {
    const TYPE: ParameterType = ParameterType::TaskFinalStatus;
}

/// Run-time values kfp's backend substitutes when a task input is given exactly this constant
/// (kfp's `dsl.PIPELINE_JOB_NAME_PLACEHOLDER` and friends).
pub mod placeholders {
    pub const PIPELINE_JOB_NAME: &str = "{{$.pipeline_job_name}}";
    pub const PIPELINE_JOB_RESOURCE_NAME: &str = "{{$.pipeline_job_resource_name}}";
    pub const PIPELINE_JOB_ID: &str = "{{$.pipeline_job_uuid}}";
    pub const PIPELINE_TASK_NAME: &str = "{{$.pipeline_task_name}}";
    pub const PIPELINE_TASK_ID: &str = "{{$.pipeline_task_uuid}}";
}
