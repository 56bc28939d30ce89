//! `#[component]`, `#[pipeline]`, `#[derive(ComponentOutputs)]` and `#[derive(StructParam)]`.
//!
//! This crate is a thin shell: each macro parses into a model, validates it, and expands it,
//! in modules that work on `proc_macro2` so they unit-test without a compiler session.
//! Generated code reaches support code only through `::kfp::__private`.

mod attrs;
mod component;
mod crate_defaults;
mod derive;
mod interface;
mod pipeline;
mod signature;

use proc_macro::TokenStream;

/// Turns a function into a Kubeflow component; see the `kfp` crate docs.
#[proc_macro_attribute]
pub fn component(attr: TokenStream, item: TokenStream) -> TokenStream {
    component::component(attr.into(), item.into()).into()
}

/// Turns a function into a Kubeflow pipeline; see the `kfp` crate docs.
#[proc_macro_attribute]
pub fn pipeline(attr: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::pipeline(attr.into(), item.into()).into()
}

/// Named outputs of a component (kfp's `NamedTuple` return).
#[proc_macro_derive(ComponentOutputs)]
pub fn derive_component_outputs(item: TokenStream) -> TokenStream {
    derive::component_outputs(item.into()).into()
}

/// Lets a serde struct travel as a STRUCT parameter.
#[proc_macro_derive(StructParam)]
pub fn derive_struct_param(item: TokenStream) -> TokenStream {
    derive::struct_param(item.into()).into()
}
