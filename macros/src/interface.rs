//! The typed call interface shared by components and pipelines: a type-state argument builder,
//! so that rustc rejects a wrong argument type, a missing required input, an input given twice
//! and too many positional arguments, each with a message that names the input.

use crate::signature::{Param, ParamKind};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Visibility};

pub struct Interface<'a> {
    /// The component or pipeline function (and the marker type of the same name).
    pub name: &'a Ident,
    pub vis: &'a Visibility,
    /// What the messages call it: "component" or "pipeline".
    pub what: &'static str,
    pub inputs: Vec<&'a Param>,
    /// The type a finished call's task exposes as `outputs`.
    pub outputs: TokenStream,
    /// Extra items for the helper module (the outputs struct).
    pub items: TokenStream,
}

/// The helper module's name for a function.
pub fn module_name(name: &Ident) -> Ident {
    format_ident!("__kfp_{}", name)
}

impl Interface<'_> {
    pub fn expand(&self) -> TokenStream {
        let name = self.name;
        let vis = self.vis;
        let module = module_name(name);
        let n = self.inputs.len();
        let states: Vec<Ident> = (0..n).map(|i| format_ident!("S{}", i)).collect();
        let unset = quote!(::kfp::__private::Unset);
        let set = quote!(::kfp::__private::Set);
        let all_unset = (0..n).map(|_| unset.clone());

        let setters = self.inputs.iter().enumerate().map(|(i, input)| {
            let ident = &input.ident;
            let key = crate::signature::ir_name(ident);
            let positional = format_ident!("__p{}", i);
            let others: Vec<&Ident> = states.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, s)| s).collect();
            let before = states.iter().enumerate().map(|(j, s)| if j == i { unset.clone() } else { quote!(#s) });
            let after: Vec<TokenStream> =
                states.iter().enumerate().map(|(j, s)| if j == i { set.clone() } else { quote!(#s) }).collect();
            let bound = match &input.kind {
                ParamKind::Parameter { ty, .. } => quote!(::kfp::__private::IntoParam<#ty>),
                ParamKind::InputArtifact { artifact, list: false, .. } => quote!(::kfp::__private::IntoArtifact<#artifact>),
                ParamKind::InputArtifact { artifact, list: true, .. } => {
                    quote!(::kfp::__private::IntoArtifactList<#artifact>)
                }
                ParamKind::OutputArtifact { .. } | ParamKind::FinalStatus { .. } => {
                    unreachable!("outputs and final statuses are not call inputs")
                }
            };
            quote! {
                impl<#(#others),*> Args<#(#before),*> {
                    pub fn #ident<A: #bound>(self, value: A) -> Args<#(#after),*> {
                        let mut values = self.values;
                        values.push((#key, <A as #bound>::into_argument(value)));
                        Args { values, _state: ::core::marker::PhantomData }
                    }
                    pub fn #positional<A: #bound>(self, value: A) -> Args<#(#after),*> {
                        self.#ident(value)
                    }
                }
            }
        });

        let what = self.what;
        let required: Vec<(&Ident, Ident)> = self
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_optional())
            .map(|(i, p)| (&states[i], format_ident!("{}_is_given", p.ident)))
            .collect();
        let required_traits = self.inputs.iter().filter(|p| !p.is_optional()).map(|p| {
            let message = format!("missing required input `{}` of {what} `{name}`", p.ident);
            let label = format!("add `{} = ...` to this call", p.ident);
            let tr = format_ident!("{}_is_given", p.ident);
            quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label)]
                pub trait #tr {}
                impl #tr for ::kfp::__private::Set {}
            }
        });
        let bounds = required.iter().map(|(s, tr)| quote!(#s: #tr));
        let too_many = format_ident!("__p{}", n);
        let too_many_message = format!("{what} `{name}` takes {n} input{}, but more were given", if n == 1 { "" } else { "s" });
        let outputs = &self.outputs;
        let items = &self.items;
        let span = name.span();
        quote_spanned! {span=>
            #[doc(hidden)]
            #[allow(non_camel_case_types, non_snake_case, dead_code, clippy::all)]
            #vis mod #module {
                #[allow(unused_imports)]
                use super::*;

                #items

                pub struct Args<#(#states),*> {
                    values: ::std::vec::Vec<(&'static str, ::kfp::__private::Argument)>,
                    _state: ::core::marker::PhantomData<(#(#states,)*)>,
                }

                pub fn args() -> Args<#(#all_unset),*> {
                    Args { values: ::std::vec::Vec::new(), _state: ::core::marker::PhantomData }
                }

                #(#setters)*
                #(#required_traits)*

                #[diagnostic::on_unimplemented(message = #too_many_message)]
                pub trait __too_many_inputs {}

                impl<#(#states),*> Args<#(#states),*> {
                    pub fn __build(self) -> ::kfp::__private::Task<#outputs> where #(#bounds),* {
                        ::kfp::__private::add_task::<super::#name>(self.values)
                    }
                    pub fn #too_many<A: __too_many_inputs>(self, _value: A) -> Self {
                        self
                    }
                }
            }
        }
    }
}
