//! Typed channels: what flows between tasks, and what a component call accepts as an argument.

use super::graph::{GroupId, TaskId};
use super::oneof::OneOfId;
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
    /// Every value of a task's output parameter across the iterations of the loop `through`
    /// (and of the loops inside it that hold the task).
    Collected { task: TaskId, key: &'static str, through: GroupId },
    /// Every artifact of a task's output across the iterations of the loop `through`.
    CollectedArtifacts { task: TaskId, key: &'static str, through: GroupId },
    /// The output parameter of whichever branch of an If/Elif/Else ran (`dsl.OneOf`).
    OneOfParam(OneOfId),
    /// The output artifact of whichever branch of an If/Elif/Else ran (`dsl.OneOf`).
    OneOfArtifact(OneOfId),
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
    Collected(TaskId, &'static str, GroupId),
    OneOf(OneOfId),
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

    /// This task output gathered across the iterations of the loop `through`.
    ///
    /// # Panics
    /// When the channel is not a task's output (a loop body returned a pipeline input, or an
    /// already gathered list).
    pub(crate) fn collected(self, through: GroupId) -> Param<Vec<T>> {
        match self.argument {
            ParamSource::Task(task, key) => Param { argument: ParamSource::Collected(task, key, through), _type: PhantomData },
            _ => panic!("Collected gathers the output of a task inside the ParallelFor; the loop body returned another parameter"),
        }
    }

    /// The same channel seen as another type (a nested gather is a list of lists).
    pub(crate) fn retyped<U>(self) -> Param<U> {
        Param { argument: self.argument, _type: PhantomData }
    }

    pub(crate) fn one_of(oneof: OneOfId) -> Self {
        Self { argument: ParamSource::OneOf(oneof), _type: PhantomData }
    }

    /// One field of a struct loop item (kfp's `item.field`), read with `parseJson` at run time.
    pub(crate) fn item_field<U: ParamType>(self, name: &'static str) -> Param<U> {
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
            ParamSource::Collected(task, key, through) => Argument::Collected { task, key, through },
            ParamSource::OneOf(oneof) => Argument::OneOfParam(oneof),
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
    OneOf(OneOfId),
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

    pub(crate) fn one_of(oneof: OneOfId) -> Self {
        Self { argument: ArtifactSource::OneOf(oneof), _type: PhantomData }
    }

    /// This task output gathered across the iterations of the loop `through`.
    ///
    /// # Panics
    /// When the channel is not a task's output (a loop body returned a pipeline input).
    pub(crate) fn collected(self, through: GroupId) -> ArtifactListRef<A> {
        match self.argument {
            ArtifactSource::Task(task, key) => {
                ArtifactListRef { source: ListSource::Collected(task, key, through), _type: PhantomData }
            }
            _ => panic!("Collected gathers the output of a task inside the ParallelFor; the loop body returned another artifact"),
        }
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
            ArtifactSource::OneOf(oneof) => Argument::OneOfArtifact(oneof),
        }
    }
}

/// A list-of-artifacts channel (`isArtifactList`): a pipeline input declared `Vec<Input<A>>`,
/// a task's list output, or an artifact output gathered from a loop with `Collected`.
pub struct ArtifactListRef<A> {
    source: ListSource,
    _type: PhantomData<fn() -> A>,
}

#[derive(Clone, Copy)]
enum ListSource {
    Pipeline(&'static str),
    Task(TaskId, &'static str),
    Collected(TaskId, &'static str, GroupId),
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
        Self { source: ListSource::Pipeline(input), _type: PhantomData }
    }

    #[doc(hidden)]
    pub fn task_output(task: TaskId, key: &'static str) -> Self {
        Self { source: ListSource::Task(task, key), _type: PhantomData }
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
        match self.source {
            ListSource::Pipeline(name) => Argument::PipelineArtifact(name),
            ListSource::Task(task, key) => Argument::TaskArtifact { task, key },
            ListSource::Collected(task, key, through) => Argument::CollectedArtifacts { task, key, through },
        }
    }
}

impl<A: ArtifactType> IntoArtifactList<A> for ArtifactListRef<A> {
    fn into_argument(self) -> Argument {
        self.to_argument()
    }
}
