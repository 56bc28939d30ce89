//! `#[derive(ComponentOutputs)]` and `#[derive(StructParam)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

/// A struct of named outputs: each field becomes an output parameter of that name, and a task
/// exposes `outputs.<field>` as a typed channel.
pub fn component_outputs(item: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => return syn::Error::new_spanned(&input.ident, "named outputs need named fields").to_compile_error(),
        },
        _ => return syn::Error::new_spanned(&input.ident, "#[derive(ComponentOutputs)] goes on a struct").to_compile_error(),
    };
    if !input.generics.params.is_empty() {
        return syn::Error::new_spanned(&input.generics, "named outputs cannot be generic").to_compile_error();
    }
    let name = &input.ident;
    let vis = &input.vis;
    let handles = format_ident!("{}Handles", name);
    let idents: Vec<_> = fields.iter().map(|f| f.ident.clone().expect("named field")).collect();
    let keys: Vec<String> = idents.iter().map(crate::signature::ir_name).collect();
    let types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let type_consts =
        types.iter().map(|ty| quote_spanned!(ty.span()=> <#ty as ::kfp::__private::ParamType>::TYPE)).collect::<Vec<_>>();
    quote! {
        /// Typed channels for the named outputs of a task.
        #[derive(Clone, Copy)]
        #vis struct #handles {
            #(pub #idents: ::kfp::__private::Param<#types>,)*
        }

        impl ::kfp::__private::ComponentReturn for #name {
            type Handles = #handles;
            fn output_definitions() -> ::std::vec::Vec<::kfp::__private::OutputDef> {
                ::std::vec![#(::kfp::__private::OutputDef {
                    name: #keys,
                    kind: ::kfp::__private::OutputKind::Parameter(#type_consts),
                }),*]
            }
            fn handles(task: ::kfp::__private::TaskId) -> Self::Handles {
                #handles { #(#idents: ::kfp::__private::Param::task_output(task, #keys),)* }
            }
            fn write_outputs(
                self,
                sink: &mut dyn ::kfp::__private::ParameterSink,
            ) -> ::core::result::Result<(), ::kfp::__private::serde_json::Error> {
                #(sink.put(#keys, #type_consts, ::kfp::__private::serde_json::to_value(self.#idents)?);)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// A serde struct that travels as a STRUCT parameter.
pub fn struct_param(item: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    if !input.generics.params.is_empty() {
        return syn::Error::new_spanned(&input.generics, "struct parameters cannot be generic").to_compile_error();
    }
    let name = &input.ident;
    quote! {
        impl ::kfp::__private::ParamType for #name {
            const TYPE: ::kfp::__private::ParameterType = ::kfp::__private::ParameterType::Struct;
        }
    }
}
