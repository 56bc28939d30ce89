//! kfp-rs: write Kubeflow Pipelines in Rust.
//!
//! ```ignore
//! use kfp::prelude::*;
//!
//! /// Loads raw records into a dataset.
//! #[component(image = "ghcr.io/acme/trainer:0.1")]
//! fn load_data(source_uri: String, dataset: Output<Dataset>) -> Result<()> { ... }
//!
//! #[pipeline(name = "training-pipeline")]
//! fn training(dataset_uri: String) {
//!     let data = load_data(dataset_uri);
//!     train(data.outputs.dataset, 0.001, 10).set_accelerator_limit(2).set_retry(3);
//! }
//! ```
//!
//! A user's binary lists its pipelines once (`kfp::app::main(PIPELINES)`): run with no
//! executor flags it is the compile CLI; run by Kubeflow with `--executor-input` it is the
//! container entrypoint of every component those pipelines use.

pub mod app;
pub mod cli;

pub use kfp_compiler as compiler;
/// Kubernetes pod settings for tasks (Python's kfp-kubernetes): tolerations, node affinity, volumes.
pub use kfp_compiler::dsl::kubernetes;
pub use kfp_runtime as runtime;

/// `Result` with `anyhow::Error` as the default error, for component functions.
pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// A pipeline the compile CLI and the entrypoint know about (implemented by `#[pipeline]`).
pub trait Pipeline: Sync {
    fn definition(&self) -> kfp_compiler::compile::PipelineDef;
}

/// Everything a pipeline author needs: `use kfp::prelude::*;`.
pub mod prelude {
    pub use crate::{Pipeline, Result};
    pub use kfp_compiler::dsl::{
        Artifact, ArtifactListRef, ArtifactRef, ArtifactType, ClassificationMetrics, Collected, Condition, Dataset,
        ExitHandler, Html, If, ImportOptions, LoopItem, Markdown, Metrics, Model, OneOf, ParallelFor, Param,
        SlicedClassificationMetrics, Task, TaskFinalStatus, importer, importer_with, placeholders,
    };
    pub use kfp_macros::{ComponentOutputs, StructParam, component, pipeline};
    pub use kfp_runtime::executor::{Input, Output};
}

pub use kfp_compiler::artifact_type;

/// Support code for generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use anyhow;
    pub use kfp_compiler::compile::PipelineDef;
    pub use kfp_compiler::dsl::{
        Argument, ArtifactListRef, ArtifactRef, ArtifactType, ComponentDef, ComponentReturn, ContainerDef, Distributed,
        Implementation, InputDef, InputKind, IntoArtifact, IntoArtifactList, IntoParam, OutputDef, OutputKind,
        Param, ParamType, ParameterSink, PipelineReturn, Resources, RetrySettings, Task, TaskId, build_graph,
        record_pipeline_outputs,
    };
    pub use kfp_compiler::ir::ParameterType;
    pub use kfp_runtime::executor::{ComponentEntry, ExecutorContext, ExecutorError};
    pub use serde_json;

    pub use crate::Pipeline;

    /// The interface of a component or pipeline used as a task (implemented by the macros).
    pub trait Component: 'static {
        type Args;
        type Outputs: Copy;
        fn args() -> Self::Args;
        fn outputs(task: TaskId) -> Self::Outputs;
        fn definition() -> ComponentDef;
    }

    /// A component that runs in a container (implemented by `#[component]`).
    pub trait Executable: Component {
        fn execute(ctx: ExecutorContext) -> Result<(), ExecutorError>;
    }

    /// Type state of an argument builder: the input has been given.
    pub struct Set;
    /// Type state of an argument builder: the input has not been given yet.
    pub struct Unset;

    /// Adds a task of `C` with the given arguments to the pipeline being built.
    pub fn add_task<C: Component>(arguments: Vec<(&'static str, Argument)>) -> Task<C::Outputs> {
        let id = kfp_compiler::dsl::add_task(C::definition(), arguments);
        Task::new(id, C::outputs(id))
    }

    /// The executor entry of `C`, kept opaque in its `ComponentDef`.
    pub fn entry<C: Executable>() -> std::sync::Arc<dyn std::any::Any + Send + Sync> {
        std::sync::Arc::new(C::execute as ComponentEntry)
    }

    /// A `#[default(..)]` value as IR JSON, converted to the input's type first.
    pub fn default_value<T: ParamType>(value: impl Into<T>) -> serde_json::Value {
        serde_json::to_value(value.into()).expect("parameter types serialise to JSON")
    }
}
