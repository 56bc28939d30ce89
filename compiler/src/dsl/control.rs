//! Control flow inside a pipeline body, named as kfp's `dsl` names them: `If`/`Elif`/`Else`,
//! `ParallelFor`, `Collected` and `ExitHandler`. Bodies are closures that run at once; the
//! tasks they create belong to the group.

#![allow(non_snake_case)]

use super::channel::{Argument, ArtifactListRef, ArtifactRef, Param};
use super::condition::Condition;
use super::graph::{GroupId, GroupKind, GroupNode, Node, with_graph};
use super::loop_item::LoopItem;
use super::oneof::AppendBranch;
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

/// A nested loop over a list that is (a field of) the outer loop's item.
impl<T: ParamType> IntoLoopItems for LoopItem<'_, Param<Vec<T>>> {
    type Item = Param<T>;
    fn into_items(self, next_number: &mut dyn FnMut() -> u32) -> LoopItems {
        self.channel().into_items(next_number)
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

/// A `ParallelFor` already added, holding what its body returned. Only `ParallelFor` makes
/// one, so `Collected` can only gather a loop's result.
#[derive(Clone, Copy)]
pub struct Loop<R> {
    group: GroupId,
    result: R,
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

    /// Picks what to gather from what the body returned, such as one output of its task:
    /// `ParallelFor(seeds, |seed| train(seed)).map(|task| task.outputs.model)`.
    pub fn map<S>(self, pick: impl FnOnce(R) -> S) -> Loop<S> {
        Loop { group: self.group, result: pick(self.result) }
    }
}

/// Runs `body` once per item, in parallel on the cluster (kfp's `dsl.ParallelFor`).
///
/// The item lives only as long as the body: return a task's output from the body to gather
/// it with `Collected` after the loop.
pub fn ParallelFor<I: IntoLoopItems, R>(items: I, body: impl for<'a> FnOnce(LoopItem<'a, I::Item>) -> R) -> Loop<R> {
    let group = with_graph("ParallelFor", |g| {
        let spec = LoopSpec { items: items.into_items(&mut || g.next_number()), parallelism: None };
        let number = g.next_number();
        g.open_group(GroupKind::Loop(spec), number)
    });
    let result = body(LoopItem::new(I::item(group)));
    with_graph("ParallelFor", |g| g.close_group());
    Loop { group, result }
}

/// What a `ParallelFor` body can return for `Collected` to gather: an output parameter or
/// artifact of a task inside the loop, or the result of a loop nested in it.
#[diagnostic::on_unimplemented(
    message = "`Collected` cannot gather `{Self}` from the iterations of a loop",
    label = "the loop body returns `{Self}`",
    note = "return one task output from the body (`|x| train(x).outputs.model`), or pick it with `.map(|task| task.outputs.model)`"
)]
pub trait LoopResult {
    /// The list of every iteration's value.
    type Gathered;
    /// Gathers the value across the iterations of `through` (and the loops inside it).
    fn gather(self, through: GroupId) -> Self::Gathered;
}

impl<T: ParamType> LoopResult for Param<T> {
    type Gathered = Param<Vec<T>>;
    fn gather(self, through: GroupId) -> Param<Vec<T>> {
        self.collected(through)
    }
}

impl<A: ArtifactType> LoopResult for ArtifactRef<A> {
    type Gathered = ArtifactListRef<A>;
    fn gather(self, through: GroupId) -> ArtifactListRef<A> {
        self.collected(through)
    }
}

/// Nested loops: parameters gather into a list per outer item (`Vec<Vec<T>>`, as kfp's
/// `List[List[int]]`); artifacts into one flat list (the IR has no list of lists of artifacts).
impl<T: ParamType> LoopResult for Loop<Param<T>> {
    type Gathered = Param<Vec<Vec<T>>>;
    fn gather(self, through: GroupId) -> Param<Vec<Vec<T>>> {
        self.result.collected(through).retyped()
    }
}

impl<A: ArtifactType> LoopResult for Loop<ArtifactRef<A>> {
    type Gathered = ArtifactListRef<A>;
    fn gather(self, through: GroupId) -> ArtifactListRef<A> {
        self.result.collected(through)
    }
}

/// What `Collected` takes: the `Loop` a `ParallelFor` returned.
#[diagnostic::on_unimplemented(
    message = "`Collected` gathers what a `ParallelFor` body returned, not a `{Self}`",
    label = "this is not the result of a `ParallelFor`",
    note = "return the output from the loop body and collect the loop: `let scores = ParallelFor(items, |x| train(x).outputs.score); report(Collected(scores))`"
)]
pub trait Collectable {
    type List;
    fn collect(self) -> Self::List;
}

impl<R: LoopResult> Collectable for Loop<R> {
    type List = R::Gathered;
    fn collect(self) -> R::Gathered {
        self.result.gather(self.group)
    }
}

/// Every iteration's value of what a `ParallelFor` body returned, in item order (kfp's
/// `dsl.Collected`): a `Param<Vec<T>>` for an output parameter, an `ArtifactListRef<A>` for an
/// output artifact (a `Vec<Input<A>>` input, or a pipeline's list output).
pub fn Collected<L: Collectable>(finished_loop: L) -> L::List {
    finished_loop.collect()
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
pub fn If<R>(condition: Condition, body: impl FnOnce() -> R) -> Branches<(R,)> {
    let group = with_graph("If", |g| {
        let number = g.next_number();
        g.open_group(GroupKind::Condition(vec![condition.clone()]), number)
    });
    let result = body();
    with_graph("If", |g| g.close_group());
    Branches { first: group, wrapper: None, earlier: vec![condition], results: (result,) }
}

/// The branches of an `If`, to continue with `Elif` and `Else`.
pub struct Branches<Rs> {
    first: GroupId,
    wrapper: Option<usize>,
    earlier: Vec<Condition>,
    /// What each branch's body returned, in order (a tuple).
    pub results: Rs,
}

impl<Rs> Branches<Rs> {
    /// Runs `body` when no earlier branch ran and `condition` holds (kfp's `dsl.Elif`).
    pub fn elif<R>(mut self, condition: Condition, body: impl FnOnce() -> R) -> Branches<Rs::Output>
    where
        Rs: AppendBranch<R>,
    {
        let mut conditions: Vec<Condition> = self.earlier.iter().map(Condition::negated).collect();
        conditions.push(condition.clone());
        let result = self.branch(conditions, body);
        self.earlier.push(condition);
        let Branches { first, wrapper, earlier, results } = self;
        Branches { first, wrapper, earlier, results: results.append(result) }
    }

    /// Runs `body` when no other branch ran (kfp's `dsl.Else`). Returns what every branch's
    /// body returned, in order: `let (a, b) = If(..).else_(..);`.
    pub fn else_<R>(mut self, body: impl FnOnce() -> R) -> Rs::Output
    where
        Rs: AppendBranch<R>,
    {
        let conditions = self.earlier.iter().map(Condition::negated).collect();
        let result = self.branch(conditions, body);
        self.results.append(result)
    }

    fn branch<R>(&mut self, conditions: Vec<Condition>, body: impl FnOnce() -> R) -> R {
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
        let result = body();
        with_graph("Elif", |g| g.close_group());
        result
    }
}
