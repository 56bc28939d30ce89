//! The compiler's entry point.

use super::error::CompileErrors;
use super::lower::Lowering;
use super::validate::validate;
use crate::dsl::{Graph, InputDef, OutputDef};
use crate::ir::PipelineSpec;
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

/// Compiles a pipeline to IR, or reports every problem found.
pub fn compile(pipeline: &PipelineDef, options: &CompileOptions) -> Result<PipelineSpec, CompileErrors> {
    let spec = Lowering::new(pipeline, options).lower()?;
    validate(&spec).map_err(|problems| {
        CompileErrors(problems.into_iter().map(|p| p.into_error(pipeline.name)).collect())
    })?;
    Ok(spec)
}
