//! Code generation for `#[pipeline]`: a unit type implementing `Pipeline` (so it can be
//! compiled and listed) and `Component` (so another pipeline can call it as a task), the body as
//! a function over typed channels, and the typed call interface.

use super::model::Pipeline;
use crate::component::expand::{input_defs, option_str};
use crate::interface::{Interface, module_name};
use crate::signature::{Param, ParamKind};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::ItemFn;

pub fn expand(pipeline: &Pipeline, function: &ItemFn) -> TokenStream {
    let name = &function.sig.ident;
    let vis = &function.vis;
    let module = module_name(name);
    let body_fn = format_ident!("__kfp_pipeline_body_{}", name);
    let body = &function.block;
    let attrs = function.attrs.iter().filter(|a| !a.path().is_ident("doc"));

    let params: Vec<&Param> = pipeline.params.iter().collect();
    let body_params = params.iter().map(|p| {
        let ident = &p.ident;
        let ty = channel_type(p);
        quote!(#ident: #ty)
    });
    let handles: Vec<TokenStream> = params
        .iter()
        .map(|p| {
            let ty = channel_type(p);
            let key = crate::signature::ir_name(&p.ident);
            quote!(<#ty>::pipeline_input(#key))
        })
        .collect();
    let inputs = input_defs(&params);
    let unset = params.iter().map(|_| quote!(::kfp::__private::Unset));
    let key = crate::signature::ir_name(name);
    let pipeline_name = &pipeline.name;
    let description = option_str(pipeline.description.as_deref());
    let display_name = option_str(pipeline.display_name.as_deref());
    let pipeline_root = option_str(pipeline.pipeline_root.as_deref());
    let returns = &pipeline.returns;
    let pipeline_return = quote_spanned!(returns.span()=> <#returns as ::kfp::__private::PipelineReturn>);
    let graph = quote!(::std::sync::Arc::new(::kfp::__private::build_graph(|| {
        let outputs = #body_fn(#(#handles),*);
        ::kfp::__private::record_pipeline_outputs(#pipeline_return::sources(outputs));
    })));
    let handles_type = quote!(#pipeline_return::Handles);

    let interface = Interface {
        name,
        vis,
        what: "pipeline",
        inputs: params.clone(),
        outputs: handles_type.clone(),
        items: quote!(),
    }
    .expand();
    quote! {
        #[allow(non_camel_case_types)]
        #vis struct #name;

        impl ::kfp::__private::Pipeline for #name {
            fn definition(&self) -> ::kfp::__private::PipelineDef {
                ::kfp::__private::PipelineDef {
                    name: #pipeline_name,
                    display_name: #display_name,
                    description: #description,
                    pipeline_root: #pipeline_root,
                    inputs: ::std::vec![#(#inputs),*],
                    outputs: #pipeline_return::output_definitions(),
                    graph: #graph,
                }
            }
        }

        impl ::kfp::__private::Component for #name {
            type Args = #module::Args<#(#unset),*>;
            type Outputs = #handles_type;
            fn args() -> Self::Args {
                #module::args()
            }
            fn outputs(task: ::kfp::__private::TaskId) -> Self::Outputs {
                #pipeline_return::handles(task)
            }
            fn definition() -> ::kfp::__private::ComponentDef {
                ::kfp::__private::ComponentDef {
                    name: #key,
                    description: #description,
                    inputs: ::std::vec![#(#inputs),*],
                    outputs: #pipeline_return::output_definitions(),
                    implementation: ::kfp::__private::Implementation::Graph(#graph),
                }
            }
        }

        #(#attrs)*
        #[allow(non_snake_case, unused_variables)]
        fn #body_fn(#(#body_params),*) -> #returns #body

        #interface
    }
}

/// The channel a pipeline input becomes inside the body.
fn channel_type(param: &Param) -> TokenStream {
    match &param.kind {
        ParamKind::Parameter { ty, .. } => quote!(::kfp::__private::Param<#ty>),
        ParamKind::InputArtifact { artifact, list: false, .. } => quote!(::kfp::__private::ArtifactRef<#artifact>),
        ParamKind::InputArtifact { artifact, list: true, .. } => quote!(::kfp::__private::ArtifactListRef<#artifact>),
        ParamKind::OutputArtifact { .. } | ParamKind::FinalStatus { .. } => {
            unreachable!("pipelines take neither outputs nor final statuses")
        }
    }
}
