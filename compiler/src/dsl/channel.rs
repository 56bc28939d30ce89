//! Typed channels: what flows between tasks, and what a component call accepts as an argument.

use super::graph::{GroupId, TaskId};
use super::types::{ArtifactType, ParamType};
use std::marker::PhantomData;

/// Where an input of a task gets its value from.
#[derive(Debug, Clone, PartialEq)]
pub enum Argument {
    /// A literal written into the IR (`runtimeValue.constant`).
    Constant(serde_json::Value),
    /// An input of the enclosing pipeline (`componentInputParameter`).
    PipelineParam(&'static str),
    /// An output parameter of an earlier task (`taskOutputParameter`).
    TaskParam { task: TaskId, key: &'static str },
    /// An artifact input of the enclosing pipeline (`componentInputArtifact`).
    PipelineArtifact(&'static str),
    /// An output artifact of an earlier task (`taskOutputArtifact`).
    TaskArtifact { task: TaskId, key: &'static str },
    /// The item of a `ParallelFor` over parameters, or one field of it.
    LoopItem { group: GroupId, field: Option<&'static str> },
    /// The item of a `ParallelFor` over artifacts.
    LoopArtifact { group: GroupId },
    /// Every value of a task's output parameter across the iterations of its loop.
    Collected { task: TaskId, key: &'static str },
}

impl Argument {
    /// The task this argument makes the consumer depend on.
    pub fn producer(&self) -> Option<TaskId> {
        match self {
            Self::TaskParam { task, .. } | Self::TaskArtifact { task, .. } => Some(*task),
            _ => None,
        }
    }
}

/// A parameter channel of type `T`: a pipeline input or a task's output parameter.
pub struct Param<T> {
    argument: ParamSource,
    _type: PhantomData<fn() -> T>,
}

#[derive(Clone, Copy)]
enum ParamSource {
    Pipeline(&'static str),
    Task(TaskId, &'static str),
    LoopItem(GroupId, Option<&'static str>),
    Collected(TaskId, &'static str),
}

impl<T> Clone for Param<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Param<T> {}

impl<T: ParamType> Param<T> {
    #[doc(hidden)]
    pub fn pipeline_input(name: &'static str) -> Self {
        Self { argument: ParamSource::Pipeline(name), _type: PhantomData }
    }

    #[doc(hidden)]
    pub fn task_output(task: TaskId, key: &'static str) -> Self {
        Self { argument: ParamSource::Task(task, key), _type: PhantomData }
    }

    pub(crate) fn loop_item(group: GroupId) -> Self {
        Self { argument: ParamSource::LoopItem(group, None), _type: PhantomData }
    }

    pub(crate) fn collected<U>(of: Param<U>) -> Option<Self> {
        match of.argument {
            ParamSource::Task(task, key) => Some(Self { argument: ParamSource::Collected(task, key), _type: PhantomData }),
            _ => None,
        }
    }

    /// One field of a struct loop item (kfp's `item.field`), read with `parseJson` at run time.
    pub fn field<U: ParamType>(self, name: &'static str) -> Param<U> {
        let argument = match self.argument {
            ParamSource::LoopItem(group, None) => ParamSource::LoopItem(group, Some(name)),
            other => panic!(
                "`.field({name:?})` reads a field of a ParallelFor item; it is not available on {}",
                match other {
                    ParamSource::LoopItem(..) => "a field of a field",
                    _ => "other parameters",
                }
            ),
        };
        Param { argument, _type: PhantomData }
    }

    pub(crate) fn to_argument(self) -> Argument {
        match self.argument {
            ParamSource::Pipeline(name) => Argument::PipelineParam(name),
            ParamSource::Task(task, key) => Argument::TaskParam { task, key },
            ParamSource::LoopItem(group, field) => Argument::LoopItem { group, field },
            ParamSource::Collected(task, key) => Argument::Collected { task, key },
        }
    }
}

/// An artifact channel of type `A`: a pipeline artifact input or a task's output artifact.
pub struct ArtifactRef<A> {
    argument: ArtifactSource,
    _type: PhantomData<fn() -> A>,
}

#[derive(Clone, Copy)]
enum ArtifactSource {
    Pipeline(&'static str),
    Task(TaskId, &'static str),
    LoopItem(GroupId),
}

impl<A> Clone for ArtifactRef<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for ArtifactRef<A> {}

impl<A: ArtifactType> ArtifactRef<A> {
    #[doc(hidden)]
    pub fn pipeline_input(name: &'static str) -> Self {
        Self { argument: ArtifactSource::Pipeline(name), _type: PhantomData }
    }

    #[doc(hidden)]
    pub fn task_output(task: TaskId, key: &'static str) -> Self {
        Self { argument: ArtifactSource::Task(task, key), _type: PhantomData }
    }

    pub(crate) fn loop_item(group: GroupId) -> Self {
        Self { argument: ArtifactSource::LoopItem(group), _type: PhantomData }
    }
}

/// What a component call accepts for a parameter input of type `T`: a value of `T` (written
/// as a constant), a `Param<T>` channel, or a literal that converts losslessly.
#[diagnostic::on_unimplemented(
    message = "expected a `{T}` parameter, found `{Self}`",
    label = "this argument has the wrong type for the component input",
    note = "pass a `{T}` value or a `Param<{T}>` (a pipeline input or a task output of that type)"
)]
pub trait IntoParam<T> {
    fn into_argument(self) -> Argument;
}

impl<T: ParamType> IntoParam<T> for T {
    fn into_argument(self) -> Argument {
        Argument::Constant(constant(&self))
    }
}

impl<T: ParamType> IntoParam<T> for Param<T> {
    fn into_argument(self) -> Argument {
        self.to_argument()
    }
}

impl IntoParam<String> for &str {
    fn into_argument(self) -> Argument {
        Argument::Constant(serde_json::Value::String(self.to_owned()))
    }
}

/// Integer literals default to `i32`; let them (and other lossless conversions) fill wider
/// integer and float inputs without a suffix.
macro_rules! lossless_literals {
    ($($from:ty => $($to:ty),*;)*) => {$($(
        impl IntoParam<$to> for $from {
            fn into_argument(self) -> Argument {
                Argument::Constant(constant(&<$to>::from(self)))
            }
        }
    )*)*};
}
lossless_literals! {
    i32 => i64, f64;
    u32 => u64, i64;
    f32 => f64;
}

fn constant<T: serde::Serialize>(value: &T) -> serde_json::Value {
    // Parameter types serialise infallibly (no maps with non-string keys reach here).
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// What a component call accepts for an artifact input of type `A`.
#[diagnostic::on_unimplemented(
    message = "expected a `{A}` artifact, found `{Self}`",
    label = "this argument has the wrong artifact type for the component input",
    note = "artifact inputs take an `ArtifactRef` of the same artifact type, such as a task's `outputs.<name>`"
)]
pub trait IntoArtifact<A> {
    fn into_argument(self) -> Argument;
}

impl<A: ArtifactType> IntoArtifact<A> for ArtifactRef<A> {
    fn into_argument(self) -> Argument {
        match self.argument {
            ArtifactSource::Pipeline(name) => Argument::PipelineArtifact(name),
            ArtifactSource::Task(task, key) => Argument::TaskArtifact { task, key },
            ArtifactSource::LoopItem(group) => Argument::LoopArtifact { group },
        }
    }
}

/// A list-of-artifacts channel (`isArtifactList`): a pipeline input declared `Vec<Input<A>>`.
pub struct ArtifactListRef<A> {
    input: &'static str,
    _type: PhantomData<fn() -> A>,
}

impl<A> Clone for ArtifactListRef<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for ArtifactListRef<A> {}

impl<A: ArtifactType> ArtifactListRef<A> {
    #[doc(hidden)]
    pub fn pipeline_input(input: &'static str) -> Self {
        Self { input, _type: PhantomData }
    }
}

/// What a component call accepts for a list-of-artifacts input of type `A`.
#[diagnostic::on_unimplemented(
    message = "expected a list of `{A}` artifacts, found `{Self}`",
    label = "this argument is not a list of artifacts of the input's type"
)]
pub trait IntoArtifactList<A> {
    fn into_argument(self) -> Argument;
}

impl<A: ArtifactType> ArtifactListRef<A> {
    pub(crate) fn to_argument(self) -> Argument {
        Argument::PipelineArtifact(self.input)
    }
}

impl<A: ArtifactType> IntoArtifactList<A> for ArtifactListRef<A> {
    fn into_argument(self) -> Argument {
        Argument::PipelineArtifact(self.input)
    }
}
