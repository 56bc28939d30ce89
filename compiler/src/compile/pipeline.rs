//! The compiler's entry point.

use super::error::CompileErrors;
use super::lower::Lowering;
use super::validate::validate;
use crate::dsl::{Graph, InputDef, OutputDef};
use crate::ir::{PipelineSpec, PlatformSpec};
use std::sync::Arc;

/// A pipeline as `#[pipeline]` describes it.
#[derive(Clone)]
pub struct PipelineDef {
    /// The name given in `#[pipeline(name = ...)]`, or the function name.
    pub name: &'static str,
    pub display_name: Option<&'static str>,
    pub description: Option<&'static str>,
    pub pipeline_root: Option<&'static str>,
    pub inputs: Vec<InputDef>,
    pub outputs: Vec<OutputDef>,
    pub graph: Arc<Graph>,
}

/// Pipeline-wide compiler settings.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Execution caching for tasks that do not choose (kfp's default: on).
    pub enable_caching: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self { enable_caching: true }
    }
}

/// What the compiler writes: the pipeline document and, when a task has Kubernetes pod
/// settings, the platform document that follows it in the same YAML file.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPipeline {
    pub spec: PipelineSpec,
    pub platform: Option<PlatformSpec>,
}

/// Compiles a pipeline to IR, or reports every problem found.
pub fn compile(pipeline: &PipelineDef, options: &CompileOptions) -> Result<CompiledPipeline, CompileErrors> {
    let (spec, platform) = Lowering::new(pipeline, options).lower()?;
    validate(&spec).map_err(|problems| {
        CompileErrors(problems.into_iter().map(|p| p.into_error(pipeline.name)).collect())
    })?;
    Ok(CompiledPipeline { spec, platform })
}
