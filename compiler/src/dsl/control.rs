//! Control flow inside a pipeline body, named as kfp's `dsl` names them: `If`/`Elif`/`Else`,
//! `ParallelFor`, `Collected` and `ExitHandler`. Bodies are closures that run at once; the
//! tasks they create belong to the group.

#![allow(non_snake_case)]

use super::channel::{Argument, ArtifactListRef, ArtifactRef, Param};
use super::condition::Condition;
use super::graph::{GroupId, GroupKind, GroupNode, Node, with_graph};
use super::task::Task;
use super::types::{ArtifactType, ParamType};
use crate::ir::ParameterType;

/// What a `ParallelFor` iterates over.
#[derive(Debug, Clone)]
pub struct LoopSpec {
    pub items: LoopItems,
    pub parallelism: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum LoopItems {
    /// A list written into the IR (`items.raw`); the item input is `loop-item-param-N`.
    Raw { items: serde_json::Value, item_type: ParameterType, number: u32 },
    /// A list parameter channel (`items.inputParameter`).
    Parameter { list: Argument, item_type: ParameterType },
    /// A list-of-artifacts channel (`artifactIterator`).
    Artifacts { list: Argument, schema: crate::ir::ArtifactTypeSchema },
}

/// Something `ParallelFor` can iterate over, and the channel type of its items.
#[diagnostic::on_unimplemented(
    message = "`ParallelFor` cannot iterate over `{Self}`",
    note = "iterate over a Vec or array of parameter values, a `Param<Vec<T>>`, or a list of artifacts"
)]
pub trait IntoLoopItems {
    type Item: Copy;
    /// `next_number` hands out kfp's generated-name numbers; only a literal list takes one.
    fn into_items(self, next_number: &mut dyn FnMut() -> u32) -> LoopItems;
    fn item(group: GroupId) -> Self::Item;
}

impl<T: ParamType> IntoLoopItems for Vec<T> {
    type Item = Param<T>;
    fn into_items(self, next_number: &mut dyn FnMut() -> u32) -> LoopItems {
        let item_type = raw_item_type::<T>(&self);
        LoopItems::Raw { items: serde_json::to_value(&self).unwrap_or_default(), item_type, number: next_number() }
    }
    fn item(group: GroupId) -> Param<T> {
        Param::loop_item(group)
    }
}

impl<T: ParamType, const N: usize> IntoLoopItems for [T; N] {
    type Item = Param<T>;
    fn into_items(self, next_number: &mut dyn FnMut() -> u32) -> LoopItems {
        Vec::from(self).into_items(next_number)
    }
    fn item(group: GroupId) -> Param<T> {
        Param::loop_item(group)
    }
}

impl<T: ParamType> IntoLoopItems for Param<Vec<T>> {
    type Item = Param<T>;
    fn into_items(self, _: &mut dyn FnMut() -> u32) -> LoopItems {
        LoopItems::Parameter { list: self.to_argument(), item_type: T::TYPE }
    }
    fn item(group: GroupId) -> Param<T> {
        Param::loop_item(group)
    }
}

impl<A: ArtifactType> IntoLoopItems for ArtifactListRef<A> {
    type Item = ArtifactRef<A>;
    fn into_items(self, _: &mut dyn FnMut() -> u32) -> LoopItems {
        LoopItems::Artifacts { list: self.to_argument(), schema: A::schema() }
    }
    fn item(group: GroupId) -> ArtifactRef<A> {
        ArtifactRef::loop_item(group)
    }
}

/// kfp types the item of a raw list by its first element (dicts are STRUCT).
fn raw_item_type<T: ParamType>(items: &[T]) -> ParameterType {
    match items.first().and_then(|i| serde_json::to_value(i).ok()) {
        Some(serde_json::Value::Object(_)) => ParameterType::Struct,
        _ => T::TYPE,
    }
}

/// A `ParallelFor` already added; settings made on it apply to the loop. `result` is what the
/// body returned (for example a task to gather with `Collected`).
#[derive(Clone, Copy)]
pub struct Loop<R> {
    group: GroupId,
    pub result: R,
}

impl<R> Loop<R> {
    /// At most `limit` iterations run at once (`iteratorPolicy.parallelismLimit`).
    pub fn set_parallelism(self, limit: u32) -> Self {
        with_graph("set_parallelism", |g| {
            if let GroupKind::Loop(spec) = &mut g.groups[self.group.index].kind {
                spec.parallelism = Some(limit);
            }
        });
        self
    }
}

/// Runs `body` once per item, in parallel on the cluster (kfp's `dsl.ParallelFor`).
pub fn ParallelFor<I: IntoLoopItems, R>(items: I, body: impl FnOnce(I::Item) -> R) -> Loop<R> {
    let group = with_graph("ParallelFor", |g| {
        let spec = LoopSpec { items: items.into_items(&mut || g.next_number()), parallelism: None };
        let number = g.next_number();
        g.open_group(GroupKind::Loop(spec), number)
    });
    let result = body(I::item(group));
    with_graph("ParallelFor", |g| g.close_group());
    Loop { group, result }
}

/// A task output gathered from every iteration of its loop into a list (kfp's `dsl.Collected`).
///
/// # Panics
/// When `value` is not a task's output parameter.
pub fn Collected<T: ParamType>(value: Param<T>) -> Param<Vec<T>> {
    Param::collected(value).expect("Collected takes the output parameter of a task inside a ParallelFor")
}

/// Runs `exit_task` after every task in `body`, whether they succeed or fail (kfp's
/// `dsl.ExitHandler`). The exit task may take a `TaskFinalStatus` input.
pub fn ExitHandler<O, R>(exit_task: &Task<O>, body: impl FnOnce() -> R) -> R {
    let exit = exit_task.id();
    with_graph("ExitHandler", |g| {
        assert_eq!(exit.graph, g.id, "the exit task of an ExitHandler must belong to the same pipeline");
        let number = g.next_number();
        g.open_group(GroupKind::ExitHandler { exit_task: exit.index }, number)
    });
    let result = body();
    with_graph("ExitHandler", |g| g.close_group());
    result
}

/// Runs `body` when `condition` holds (kfp's `dsl.If`); chain `.elif(..)` and `.else_(..)`.
pub fn If<R>(condition: Condition, body: impl FnOnce() -> R) -> Branches {
    let group = with_graph("If", |g| {
        let number = g.next_number();
        g.open_group(GroupKind::Condition(vec![condition.clone()]), number)
    });
    body();
    with_graph("If", |g| g.close_group());
    Branches { first: group, wrapper: None, earlier: vec![condition], closed: false }
}

/// The branches of an `If`, to continue with `Elif` and `Else`.
pub struct Branches {
    first: GroupId,
    wrapper: Option<usize>,
    earlier: Vec<Condition>,
    closed: bool,
}

impl Branches {
    /// Runs `body` when no earlier branch ran and `condition` holds (kfp's `dsl.Elif`).
    pub fn elif<R>(mut self, condition: Condition, body: impl FnOnce() -> R) -> Self {
        let mut conditions: Vec<Condition> = self.earlier.iter().map(Condition::negated).collect();
        conditions.push(condition.clone());
        self.branch(conditions, body);
        self.earlier.push(condition);
        self
    }

    /// Runs `body` when no other branch ran (kfp's `dsl.Else`).
    pub fn else_<R>(mut self, body: impl FnOnce() -> R) {
        let conditions = self.earlier.iter().map(Condition::negated).collect();
        self.branch(conditions, body);
        self.closed = true;
    }

    fn branch<R>(&mut self, conditions: Vec<Condition>, body: impl FnOnce() -> R) {
        assert!(!self.closed, "no branch can follow Else");
        let first = self.first.index;
        let wrapper = *self.wrapper.get_or_insert_with(|| {
            with_graph("Elif", |g| {
                // As kfp: the wrapper takes the If's number and the If the next one.
                let parent = g.groups[first].parent;
                let number = g.groups[first].number;
                g.groups[first].number = g.next_number();
                g.groups.push(GroupNode { kind: GroupKind::Branches, parent, number });
                let wrapper = g.groups.len() - 1;
                g.order.push(Node::Group(wrapper));
                g.groups[first].parent = Some(wrapper);
                wrapper
            })
        });
        with_graph("Elif", |g| {
            let number = g.next_number();
            g.open_group_in(GroupKind::Condition(conditions), number, Some(wrapper));
        });
        body();
        with_graph("Elif", |g| g.close_group());
    }
}
