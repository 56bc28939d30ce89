//! What a `#[pipeline]` says, parsed and validated.

use super::rewrite;
use crate::attrs::{Errors, parse_args};
use crate::signature::{self, Param};
use proc_macro2::TokenStream;
use syn::ItemFn;

pub struct Pipeline {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub pipeline_root: Option<String>,
    pub params: Vec<Param>,
    /// What the body returns: `()`, a `Param<T>`, an `ArtifactRef<A>` or an `ArtifactListRef<A>`.
    pub returns: syn::Type,
}

const KNOWN: &[&str] = &["name", "display_name", "description", "pipeline_root"];

impl Pipeline {
    /// Parses the attribute and signature, and rewrites the body's component calls in place.
    pub fn parse(attr: TokenStream, function: &mut ItemFn) -> syn::Result<Self> {
        let mut errors = Errors::default();
        signature::check_plain_fn(&function.sig, &mut errors);
        let params = signature::params(&function.sig, false, &mut errors);
        if let syn::ReturnType::Type(_, ty) = &function.sig.output
            && signature::wrapped(ty, "Param").is_none()
            && signature::wrapped(ty, "ArtifactRef").is_none()
            && signature::wrapped(ty, "ArtifactListRef").is_none()
        {
            errors.push(syn::Error::new_spanned(
                ty,
                "a pipeline returns nothing, or one `Param<T>`, `ArtifactRef<A>` or `ArtifactListRef<A>` produced by its tasks",
            ));
        }
        let mut pipeline = Pipeline {
            name: crate::signature::ir_name(&function.sig.ident),
            display_name: None,
            description: signature::doc_comment(&function.attrs),
            pipeline_root: None,
            params,
            returns: match &function.sig.output {
                syn::ReturnType::Default => syn::parse_quote!(()),
                syn::ReturnType::Type(_, ty) => (**ty).clone(),
            },
        };
        for arg in errors.take(parse_args(attr)).unwrap_or_default() {
            let value = || arg.string().map(|s| s.value());
            match arg.key.to_string().as_str() {
                "name" => {
                    if let Some(name) = errors.take(arg.string()) {
                        if name.value().chars().any(|c| c.is_ascii_alphanumeric()) {
                            pipeline.name = name.value();
                        } else {
                            errors.push(syn::Error::new_spanned(name, "a pipeline name needs letters or digits"));
                        }
                    }
                }
                "display_name" => pipeline.display_name = errors.take(value()),
                "description" => pipeline.description = errors.take(value()),
                "pipeline_root" => pipeline.pipeline_root = errors.take(value()),
                _ => errors.push(arg.unknown(KNOWN)),
            }
        }
        if let Err(e) = rewrite::rewrite_body(&mut function.block) {
            errors.push(e);
        }
        errors.finish()?;
        Ok(pipeline)
    }
}
