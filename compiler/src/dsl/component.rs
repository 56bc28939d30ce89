//! The static description of a component that `#[component]` and `#[pipeline]` generate.

use super::graph::Graph;
use crate::ir::{ArtifactTypeSchema, ParameterType};
use std::any::Any;
use std::sync::Arc;

/// A component: its interface and how it runs.
#[derive(Clone)]
pub struct ComponentDef {
    /// The Rust function name (`load_data`); IR names derive from it (`comp-load-data`).
    pub name: &'static str,
    pub description: Option<&'static str>,
    pub inputs: Vec<InputDef>,
    pub outputs: Vec<OutputDef>,
    pub implementation: Implementation,
}

#[derive(Clone)]
pub enum Implementation {
    /// A container that runs the user's binary.
    Container(ContainerDef),
    /// A pipeline used as a component: a DAG of tasks.
    Graph(Arc<Graph>),
    /// kfp's `dsl.importer`: registers an existing artifact by URI.
    Importer(ImporterDef),
    /// A step the KFP backend performs itself, named by a marker image (kfp-kubernetes's
    /// `CreatePVC` runs as `argostub/createpvc`): no command, nothing of ours runs.
    BackendOp(&'static str),
}

/// Settings of an importer task.
#[derive(Debug, Clone, PartialEq)]
pub struct ImporterDef {
    pub schema: ArtifactTypeSchema,
    /// Register the artifact again even if one with this URI exists.
    pub reimport: bool,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Container settings from the `#[component(...)]` attribute.
#[derive(Clone, Default)]
pub struct ContainerDef {
    pub image: &'static str,
    /// Path of the user's binary inside the image.
    pub binary: &'static str,
    pub resources: Resources,
    pub env: Vec<(String, String)>,
    pub caching: bool,
    pub retry: Option<RetrySettings>,
    pub display_name: Option<String>,
    /// Multi-node DDP on the Kubeflow Training Operator, when set.
    pub distributed: Option<Distributed>,
    /// The executor entry point, opaque to the compiler (the facade downcasts it).
    pub entry: Option<Arc<dyn Any + Send + Sync>>,
}

/// `distributed(nodes = N, nproc_per_node = M)`: the component trains on N nodes with M
/// processes each, as a PyTorchJob (Master + N-1 Workers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distributed {
    pub nodes: u32,
    pub nproc_per_node: u32,
}

/// CPU, memory and accelerator settings, as Kubernetes quantities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub cpu_limit: Option<String>,
    pub cpu_request: Option<String>,
    pub memory_limit: Option<String>,
    pub memory_request: Option<String>,
    pub accelerator_type: Option<String>,
    pub accelerator_limit: Option<u32>,
}

impl Resources {
    /// `other`'s settings win where present (task overrides over component defaults).
    pub fn overlay(&self, other: &Resources) -> Resources {
        Resources {
            cpu_limit: other.cpu_limit.clone().or_else(|| self.cpu_limit.clone()),
            cpu_request: other.cpu_request.clone().or_else(|| self.cpu_request.clone()),
            memory_limit: other.memory_limit.clone().or_else(|| self.memory_limit.clone()),
            memory_request: other.memory_request.clone().or_else(|| self.memory_request.clone()),
            accelerator_type: other.accelerator_type.clone().or_else(|| self.accelerator_type.clone()),
            accelerator_limit: other.accelerator_limit.or(self.accelerator_limit),
        }
    }
}

/// kfp's `set_retry(num_retries, backoff_duration, backoff_factor, backoff_max_duration)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySettings {
    pub max_retry_count: u32,
    pub backoff_duration_s: u64,
    pub backoff_factor: f64,
    pub backoff_max_duration_s: u64,
}

impl RetrySettings {
    /// kfp's defaults: no initial backoff, factor 2, at most one hour.
    pub fn retries(max_retry_count: u32) -> Self {
        Self { max_retry_count, backoff_duration_s: 0, backoff_factor: 2.0, backoff_max_duration_s: 3600 }
    }
}

/// One input of a component, in declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct InputDef {
    pub name: &'static str,
    pub kind: InputKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputKind {
    Parameter { ty: ParameterType, optional: bool, default: Option<serde_json::Value> },
    Artifact { schema: ArtifactTypeSchema, list: bool, optional: bool },
}

impl InputDef {
    /// Whether a call may leave this input out.
    pub fn is_optional(&self) -> bool {
        match &self.kind {
            InputKind::Parameter { optional, default, .. } => *optional || default.is_some(),
            InputKind::Artifact { optional, .. } => *optional,
        }
    }
}

/// One output of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputDef {
    pub name: &'static str,
    pub kind: OutputKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutputKind {
    Parameter(ParameterType),
    Artifact { schema: ArtifactTypeSchema, list: bool },
}
