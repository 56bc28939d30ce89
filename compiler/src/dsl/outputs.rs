//! What a component function returns, and how it becomes output parameters.

use super::channel::Param;
use super::component::{OutputDef, OutputKind};
use super::graph::TaskId;
use super::types::ParamType;
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
