//! Code generation for `#[component]`: the function stays as written; beside it come a marker
//! type implementing `Component` (interface and IR definition) and `Executable` (the executor
//! entry), and the typed call interface that pipelines use.

use super::model::Component;
use crate::interface::{Interface, module_name};
use crate::signature::{Param, ParamKind};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ItemFn;
use syn::spanned::Spanned;

pub fn expand(component: &Component, function: &ItemFn) -> TokenStream {
    let name = &function.sig.ident;
    let vis = &function.vis;
    let module = module_name(name);
    let value = &component.ret.value;
    let returns_value = !matches!(value, syn::Type::Tuple(t) if t.elems.is_empty());
    let handles = quote_spanned!(value.span()=> <#value as ::kfp::__private::ComponentReturn>::Handles);

    let inputs: Vec<&Param> = component.params.iter().filter(|p| p.is_input()).collect();
    let call_inputs: Vec<&Param> = component.params.iter().filter(|p| p.is_call_input()).collect();
    let outputs: Vec<&Param> = component.params.iter().filter(|p| !p.is_input()).collect();
    let output_fields = outputs.iter().map(|p| {
        let (ident, artifact) = (&p.ident, output_artifact(p));
        quote!(pub #ident: ::kfp::__private::ArtifactRef<#artifact>)
    });
    let return_field = returns_value.then(|| quote!(pub output: #handles,));
    let deref = returns_value.then(|| {
        quote! {
            // Named outputs read as `task.outputs.accuracy`, a single one as `task.outputs.output`.
            impl ::core::ops::Deref for Outputs {
                type Target = #handles;
                fn deref(&self) -> &Self::Target {
                    &self.output
                }
            }
        }
    });
    let outputs_struct = quote! {
        #[derive(Clone, Copy)]
        pub struct Outputs {
            #(#output_fields,)*
            #return_field
        }
        #deref
    };
    let output_values = outputs.iter().map(|p| {
        let ident = &p.ident;
        let key = crate::signature::ir_name(ident);
        quote!(#ident: ::kfp::__private::ArtifactRef::task_output(task, #key))
    });
    let return_value = returns_value
        .then(|| quote_spanned!(value.span()=> output: <#value as ::kfp::__private::ComponentReturn>::handles(task),));
    let unset: Vec<TokenStream> = call_inputs.iter().map(|_| quote!(::kfp::__private::Unset)).collect();

    let interface = Interface {
        name,
        vis,
        what: "component",
        inputs: call_inputs,
        outputs: quote!(#module::Outputs),
        items: outputs_struct,
    }
    .expand();
    let definition = definition(component, name, &inputs, &outputs);
    let execute = execute(component, function);
    let rebuild = component.manifest.as_ref().map(|path| {
        let path = path.to_string_lossy();
        quote!(const _: &[u8] = ::core::include_bytes!(#path);)
    });
    quote! {
        #function

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #name {}

        impl ::kfp::__private::Component for #name {
            type Args = #module::Args<#(#unset),*>;
            type Outputs = #module::Outputs;
            fn args() -> Self::Args {
                #module::args()
            }
            fn outputs(task: ::kfp::__private::TaskId) -> Self::Outputs {
                #module::Outputs { #(#output_values,)* #return_value }
            }
            #definition
        }

        impl ::kfp::__private::Executable for #name {
            #execute
        }

        #interface
        #rebuild
    }
}

fn output_artifact(param: &Param) -> &syn::Type {
    match &param.kind {
        ParamKind::OutputArtifact { artifact } => artifact,
        _ => unreachable!("only outputs are passed here"),
    }
}

/// `InputDef`s in declaration order; shared with `#[pipeline]`.
pub fn input_defs(inputs: &[&Param]) -> Vec<TokenStream> {
    inputs
        .iter()
        .map(|p| {
            let key = crate::signature::ir_name(&p.ident);
            let kind = match &p.kind {
                ParamKind::Parameter { ty, optional, default } => {
                    let ty_const = quote_spanned!(ty.span()=> <#ty as ::kfp::__private::ParamType>::TYPE);
                    let default = match default {
                        Some(expr) => quote_spanned!(expr.span()=> ::core::option::Option::Some(
                            ::kfp::__private::default_value::<#ty>(#expr)
                        )),
                        None => quote!(::core::option::Option::None),
                    };
                    quote!(::kfp::__private::InputKind::Parameter { ty: #ty_const, optional: #optional, default: #default })
                }
                ParamKind::InputArtifact { artifact, optional, list } => {
                    let schema = quote_spanned!(artifact.span()=> <#artifact as ::kfp::__private::ArtifactType>::schema());
                    quote!(::kfp::__private::InputKind::Artifact { schema: #schema, list: #list, optional: #optional })
                }
                ParamKind::FinalStatus { ty } => {
                    let ty_const = quote_spanned!(ty.span()=> <#ty as ::kfp::__private::ParamType>::TYPE);
                    // kfp marks it optional: the backend fills it in only for exit tasks.
                    quote!(::kfp::__private::InputKind::Parameter { ty: #ty_const, optional: true, default: ::core::option::Option::None })
                }
                ParamKind::OutputArtifact { .. } => unreachable!("outputs are not inputs"),
            };
            quote!(::kfp::__private::InputDef { name: #key, kind: #kind })
        })
        .collect()
}

fn definition(component: &Component, name: &syn::Ident, inputs: &[&Param], outputs: &[&Param]) -> TokenStream {
    let key = crate::signature::ir_name(name);
    let value = &component.ret.value;
    let description = option_str(component.description.as_deref());
    let inputs = input_defs(inputs);
    let outputs = outputs.iter().map(|p| {
        let key = crate::signature::ir_name(&p.ident);
        let artifact = output_artifact(p);
        let schema = quote_spanned!(artifact.span()=> <#artifact as ::kfp::__private::ArtifactType>::schema());
        quote!(::kfp::__private::OutputDef { name: #key, kind: ::kfp::__private::OutputKind::Artifact { schema: #schema, list: false } })
    });
    let string = |s: &Option<String>| match s {
        Some(s) => quote!(::core::option::Option::Some(::std::string::String::from(#s))),
        None => quote!(::core::option::Option::None),
    };
    let (cpu_limit, cpu_request) = (string(&component.cpu_limit), string(&component.cpu_request));
    let (memory_limit, memory_request) = (string(&component.memory_limit), string(&component.memory_request));
    let accelerator = string(&component.accelerator);
    let accelerator_limit = match component.accelerator_limit {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let env = component.env.iter().map(|(k, v)| quote!((::std::string::String::from(#k), ::std::string::String::from(#v))));
    let retry = match component.retries {
        Some(n) => quote!(::core::option::Option::Some(::kfp::__private::RetrySettings::retries(#n))),
        None => quote!(::core::option::Option::None),
    };
    let display_name = string(&component.display_name);
    let distributed = match component.distributed {
        Some((nodes, nproc_per_node)) => quote!(::core::option::Option::Some(
            ::kfp::__private::Distributed { nodes: #nodes, nproc_per_node: #nproc_per_node }
        )),
        None => quote!(::core::option::Option::None),
    };
    let (image, binary, caching) = (&component.image, &component.binary, component.caching);
    let return_definitions =
        quote_spanned!(value.span()=> <#value as ::kfp::__private::ComponentReturn>::output_definitions());
    quote! {
        fn definition() -> ::kfp::__private::ComponentDef {
            let mut outputs = ::std::vec![#(#outputs),*];
            outputs.extend(#return_definitions);
            ::kfp::__private::ComponentDef {
                name: #key,
                description: #description,
                inputs: ::std::vec![#(#inputs),*],
                outputs,
                implementation: ::kfp::__private::Implementation::Container(::kfp::__private::ContainerDef {
                    image: #image,
                    binary: #binary,
                    resources: ::kfp::__private::Resources {
                        cpu_limit: #cpu_limit,
                        cpu_request: #cpu_request,
                        memory_limit: #memory_limit,
                        memory_request: #memory_request,
                        accelerator_type: #accelerator,
                        accelerator_limit: #accelerator_limit,
                    },
                    env: ::std::vec![#(#env),*],
                    caching: #caching,
                    retry: #retry,
                    display_name: #display_name,
                    distributed: #distributed,
                    entry: ::core::option::Option::Some(::kfp::__private::entry::<Self>()),
                }),
            }
        }
    }
}

pub fn option_str(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// The executor entry: read every input first (so bad input fails before user code runs),
/// call the function, then write its outputs.
fn execute(component: &Component, function: &ItemFn) -> TokenStream {
    let name = &function.sig.ident;
    let reads = component.params.iter().map(|p| {
        let ident = &p.ident;
        let key = crate::signature::ir_name(ident);
        let read = match &p.kind {
            ParamKind::Parameter { ty, optional: true, .. } => quote!(ctx.optional_param::<#ty>(#key)?),
            ParamKind::Parameter { ty, optional: false, default: Some(default) } => quote!(
                match ctx.optional_param::<#ty>(#key)? {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => ::core::convert::Into::<#ty>::into(#default),
                }
            ),
            ParamKind::Parameter { ty, optional: false, default: None } | ParamKind::FinalStatus { ty } => {
                quote!(ctx.param::<#ty>(#key)?)
            }
            ParamKind::InputArtifact { artifact, optional: true, .. } => {
                quote!(ctx.optional_input_artifact::<#artifact>(#key)?)
            }
            ParamKind::InputArtifact { artifact, list: true, .. } => quote!(ctx.input_artifact_list::<#artifact>(#key)?),
            ParamKind::InputArtifact { artifact, .. } => quote!(ctx.input_artifact::<#artifact>(#key)?),
            ParamKind::OutputArtifact { artifact } => quote!(ctx.output_artifact::<#artifact>(#key)?),
        };
        let local = format_ident!("__kfp_input_{}", ident);
        quote!(let #local = #read;)
    });
    // Hygienic names: an input named like the function must not shadow it in the call.
    let args = component.params.iter().map(|p| format_ident!("__kfp_input_{}", p.ident));
    let call = quote!(#name(#(#args),*));
    let call = if component.ret.is_result {
        quote!(::core::result::Result::map_err(#call, ::core::convert::Into::<::kfp::__private::anyhow::Error>::into))
    } else {
        quote!(::core::result::Result::<_, ::kfp::__private::anyhow::Error>::Ok(#call))
    };
    quote! {
        fn execute(ctx: ::kfp::__private::ExecutorContext) -> ::core::result::Result<(), ::kfp::__private::ExecutorError> {
            #(#reads)*
            let result = ctx.run(move || #call);
            ctx.finish(result)
        }
    }
}
