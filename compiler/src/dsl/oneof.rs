//! `OneOf` (kfp's `dsl.OneOf`): the output of whichever branch of an If/Elif/Else ran, as one
//! channel for later tasks or the pipeline's output.
//!
//! ```ignore
//! let (big, small) = If(coin.outputs.output.eq("heads"), || train("big")).else_(|| train("small"));
//! deploy(OneOf([big.outputs.model, small.outputs.model]));
//! ```
//!
//! The argument array makes every channel the same type (a mismatch does not compile); the
//! compiler checks that they come from different branches of one If/Elif/Else that ends in
//! Else and covers every branch, so exactly one value exists at run time.

#![allow(non_snake_case)]

use super::channel::{Argument, ArtifactRef, IntoArtifact, Param};
use super::graph::with_graph;
use super::types::{ArtifactType, ParamType};

/// Identifies a `OneOf`: which graph it belongs to and its position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OneOfId {
    pub graph: u32,
    pub index: usize,
}

/// A `OneOf` as recorded in the graph: the channels it picks from, in the order given.
#[derive(Debug, Clone)]
pub struct OneOfNode {
    pub channels: Vec<Argument>,
}

/// A channel `OneOf` can pick: a task's output parameter or output artifact.
#[diagnostic::on_unimplemented(
    message = "`OneOf` cannot pick between `{Self}` channels",
    note = "OneOf takes task outputs of one type: `Param<T>`s or `ArtifactRef<A>`s from the branches of an If/Elif/Else"
)]
pub trait OneOfChannel: Copy {
    #[doc(hidden)]
    fn argument(self) -> Argument;
    #[doc(hidden)]
    fn picked(oneof: OneOfId) -> Self;
}

impl<T: ParamType> OneOfChannel for Param<T> {
    fn argument(self) -> Argument {
        self.to_argument()
    }
    fn picked(oneof: OneOfId) -> Self {
        Param::one_of(oneof)
    }
}

impl<A: ArtifactType> OneOfChannel for ArtifactRef<A> {
    fn argument(self) -> Argument {
        IntoArtifact::<A>::into_argument(self)
    }
    fn picked(oneof: OneOfId) -> Self {
        ArtifactRef::one_of(oneof)
    }
}

/// The output of whichever branch ran, from one output per branch of an If/Elif/Else chain
/// that ends in Else (kfp's `dsl.OneOf`). Use it like any task output, or return it from the
/// pipeline.
pub fn OneOf<C: OneOfChannel, const N: usize>(channels: [C; N]) -> C {
    let node = OneOfNode { channels: channels.into_iter().map(C::argument).collect() };
    let oneof = with_graph("OneOf", |g| {
        g.oneofs.push(node);
        OneOfId { graph: g.id, index: g.oneofs.len() - 1 }
    });
    C::picked(oneof)
}

/// What the bodies of an If/Elif/Else chain returned so far, as a tuple with one element per
/// branch; `Elif` and `Else` append theirs. `else_` hands the tuple back, so the branches'
/// tasks can be named for `OneOf`: `let (a, b) = If(..).else_(..);`.
#[diagnostic::on_unimplemented(message = "an If/Elif/Else chain has at most 12 branches")]
pub trait AppendBranch<R> {
    type Output;
    fn append(self, result: R) -> Self::Output;
}

macro_rules! append_branch {
    ($($earlier:ident),+) => {
        impl<$($earlier,)+ R> AppendBranch<R> for ($($earlier,)+) {
            type Output = ($($earlier,)+ R);
            #[allow(non_snake_case)]
            fn append(self, result: R) -> Self::Output {
                let ($($earlier,)+) = self;
                ($($earlier,)+ result)
            }
        }
    };
}
append_branch!(A);
append_branch!(A, B);
append_branch!(A, B, C);
append_branch!(A, B, C, D);
append_branch!(A, B, C, D, E);
append_branch!(A, B, C, D, E, F);
append_branch!(A, B, C, D, E, F, G);
append_branch!(A, B, C, D, E, F, G, H);
append_branch!(A, B, C, D, E, F, G, H, I);
append_branch!(A, B, C, D, E, F, G, H, I, J);
append_branch!(A, B, C, D, E, F, G, H, I, J, K);
