//! The item of a `ParallelFor`, branded with the lifetime of its loop body.
//!
//! `ParallelFor` calls its body as `for<'a> FnOnce(LoopItem<'a, C>)`: no `'a` exists outside
//! the body, so rustc rejects an item (or a field of it) returned from the body or stored in a
//! variable outside it. Inside the body it goes wherever its channel `C` goes: component
//! arguments, conditions, Kubernetes settings and nested loops.

use super::channel::{Argument, ArtifactRef, IntoArtifact, IntoParam, Param};
use super::condition::{Comparable, Condition, IntoOperand, Operand};
use super::types::{ArtifactType, ParamType};
use std::marker::PhantomData;

/// The item of the loop whose body is running: a `Param<T>` item of a loop over parameter
/// values, or an `ArtifactRef<A>` item of a loop over artifacts.
pub struct LoopItem<'a, C> {
    channel: C,
    /// Invariant in `'a`, so the brand can neither grow nor shrink into another lifetime.
    _body: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<C: Copy> Clone for LoopItem<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C: Copy> Copy for LoopItem<'_, C> {}

impl<C> LoopItem<'_, C> {
    pub(crate) fn new(channel: C) -> Self {
        Self { channel, _body: PhantomData }
    }
}

impl<'a, T: ParamType> LoopItem<'a, Param<T>> {
    /// One field of a struct item (kfp's `item.field`), read with `parseJson` at run time.
    pub fn field<U: ParamType>(self, name: &'static str) -> LoopItem<'a, Param<U>> {
        LoopItem::new(self.channel.item_field(name))
    }

    pub(crate) fn channel(self) -> Param<T> {
        self.channel
    }
}

impl<T: ParamType> IntoParam<T> for LoopItem<'_, Param<T>> {
    fn into_argument(self) -> Argument {
        IntoParam::<T>::into_argument(self.channel)
    }
}

impl<A: ArtifactType> IntoArtifact<A> for LoopItem<'_, ArtifactRef<A>> {
    fn into_argument(self) -> Argument {
        IntoArtifact::<A>::into_argument(self.channel)
    }
}

impl<T: Comparable> IntoOperand<T> for LoopItem<'_, Param<T>> {
    fn into_operand(self) -> Operand {
        self.channel.into_operand()
    }
}

macro_rules! comparisons {
    ($($method:ident),*) => {
        impl<T: Comparable> LoopItem<'_, Param<T>> {
            $(
                #[doc = concat!("Compares the item for `If`/`Elif`, as `Param::", stringify!($method), "`.")]
                pub fn $method(self, other: impl IntoOperand<T>) -> Condition {
                    self.channel.$method(other)
                }
            )*
        }
    };
}
comparisons!(eq, ne, lt, le, gt, ge);
