//! What a component function returns, and how it becomes output parameters.

use super::channel::{Argument, ArtifactListRef, ArtifactRef, IntoArtifact, Param};
use super::component::{OutputDef, OutputKind};
use super::graph::{TaskId, with_graph};
use super::types::{ArtifactType, ParamType};
use crate::ir::ParameterType;

/// Receives output parameter values when a component has run (implemented by the executor).
pub trait ParameterSink {
    fn put(&mut self, name: &str, ty: ParameterType, value: serde_json::Value);
}

/// A component's return type: `()`, a single parameter (kfp's `Output`), or a struct of named
/// outputs with `#[derive(ComponentOutputs)]` (kfp's `NamedTuple`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a component",
    note = "return (), a parameter type (String, i64, f64, bool, Vec<T>, a map, serde_json::Value), or a struct with #[derive(ComponentOutputs)]"
)]
pub trait ComponentReturn {
    /// The channels a task of this component exposes for the returned values.
    type Handles: Copy;
    fn output_definitions() -> Vec<OutputDef>;
    fn handles(task: TaskId) -> Self::Handles;
    fn write_outputs(self, sink: &mut dyn ParameterSink) -> Result<(), serde_json::Error>;
}

impl ComponentReturn for () {
    type Handles = ();
    fn output_definitions() -> Vec<OutputDef> {
        Vec::new()
    }
    fn handles(_: TaskId) -> Self::Handles {}
    fn write_outputs(self, _: &mut dyn ParameterSink) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

/// The name kfp gives a component's single return value.
pub const SINGLE_OUTPUT: &str = "Output";

impl<T: ParamType> ComponentReturn for T {
    type Handles = Param<T>;
    fn output_definitions() -> Vec<OutputDef> {
        vec![OutputDef { name: SINGLE_OUTPUT, kind: OutputKind::Parameter(T::TYPE) }]
    }
    fn handles(task: TaskId) -> Self::Handles {
        Param::task_output(task, SINGLE_OUTPUT)
    }
    fn write_outputs(self, sink: &mut dyn ParameterSink) -> Result<(), serde_json::Error> {
        sink.put(SINGLE_OUTPUT, T::TYPE, serde_json::to_value(self)?);
        Ok(())
    }
}

/// What a pipeline returns: nothing, or one channel that becomes its output `Output` (a
/// parameter or an artifact of one of its top-level tasks).
#[diagnostic::on_unimplemented(
    message = "a pipeline cannot return `{Self}`",
    note = "return nothing, a `Param<T>`, an `ArtifactRef<A>` or an `ArtifactListRef<A>` produced by its tasks"
)]
pub trait PipelineReturn {
    /// What a task of this pipeline exposes as `outputs`.
    type Handles: Copy;
    fn output_definitions() -> Vec<OutputDef>;
    fn handles(task: TaskId) -> Self::Handles;
    fn sources(self) -> Vec<(&'static str, Argument)>;
}

/// The single output of a pipeline used as a task: `task.outputs.output`.
#[derive(Clone, Copy)]
pub struct PipelineOutput<C> {
    pub output: C,
}

impl PipelineReturn for () {
    type Handles = ();
    fn output_definitions() -> Vec<OutputDef> {
        Vec::new()
    }
    fn handles(_: TaskId) -> Self::Handles {}
    fn sources(self) -> Vec<(&'static str, Argument)> {
        Vec::new()
    }
}

impl<T: ParamType> PipelineReturn for Param<T> {
    type Handles = PipelineOutput<Param<T>>;
    fn output_definitions() -> Vec<OutputDef> {
        vec![OutputDef { name: SINGLE_OUTPUT, kind: OutputKind::Parameter(T::TYPE) }]
    }
    fn handles(task: TaskId) -> Self::Handles {
        PipelineOutput { output: Param::task_output(task, SINGLE_OUTPUT) }
    }
    fn sources(self) -> Vec<(&'static str, Argument)> {
        vec![(SINGLE_OUTPUT, self.to_argument())]
    }
}

impl<A: ArtifactType> PipelineReturn for ArtifactRef<A> {
    type Handles = PipelineOutput<ArtifactRef<A>>;
    fn output_definitions() -> Vec<OutputDef> {
        vec![OutputDef { name: SINGLE_OUTPUT, kind: OutputKind::Artifact { schema: A::schema(), list: false } }]
    }
    fn handles(task: TaskId) -> Self::Handles {
        PipelineOutput { output: ArtifactRef::task_output(task, SINGLE_OUTPUT) }
    }
    fn sources(self) -> Vec<(&'static str, Argument)> {
        vec![(SINGLE_OUTPUT, IntoArtifact::<A>::into_argument(self))]
    }
}

/// A pipeline returning a list of artifacts, such as a loop's outputs gathered with `Collected`.
impl<A: ArtifactType> PipelineReturn for ArtifactListRef<A> {
    type Handles = PipelineOutput<ArtifactListRef<A>>;
    fn output_definitions() -> Vec<OutputDef> {
        vec![OutputDef { name: SINGLE_OUTPUT, kind: OutputKind::Artifact { schema: A::schema(), list: true } }]
    }
    fn handles(task: TaskId) -> Self::Handles {
        PipelineOutput { output: ArtifactListRef::task_output(task, SINGLE_OUTPUT) }
    }
    fn sources(self) -> Vec<(&'static str, Argument)> {
        vec![(SINGLE_OUTPUT, self.to_argument())]
    }
}

/// Records what the pipeline body under construction returned.
pub fn record_pipeline_outputs(outputs: Vec<(&'static str, Argument)>) {
    with_graph("a pipeline output", |graph| graph.outputs = outputs);
}
