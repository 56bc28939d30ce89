//! Reading a function signature: which parameters are KFP parameters, input artifacts or
//! output artifacts, their defaults, and what the function returns.

use crate::attrs::Errors;
use syn::{Attribute, Expr, FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature, Type};

/// One function parameter, classified.
pub struct Param {
    pub ident: Ident,
    pub kind: ParamKind,
}

pub enum ParamKind {
    /// A KFP parameter of type `ty` (the `T` of `Option<T>` when optional).
    Parameter { ty: Type, optional: bool, default: Option<Expr> },
    /// `Input<A>`, `Option<Input<A>>` or `Vec<Input<A>>`.
    InputArtifact { artifact: Type, optional: bool, list: bool },
    /// `Output<A>`.
    OutputArtifact { artifact: Type },
    /// `TaskFinalStatus`: filled by the pipeline for an exit handler's cleanup task.
    FinalStatus { ty: Type },
}

impl Param {
    /// Whether the function reads it as an input (outputs are written, not read).
    pub fn is_input(&self) -> bool {
        !matches!(self.kind, ParamKind::OutputArtifact { .. })
    }

    /// Whether a caller passes it (a final status is filled by the pipeline).
    pub fn is_call_input(&self) -> bool {
        matches!(self.kind, ParamKind::Parameter { .. } | ParamKind::InputArtifact { .. })
    }

    /// Whether a call may leave this input out.
    pub fn is_optional(&self) -> bool {
        match &self.kind {
            ParamKind::Parameter { optional, default, .. } => *optional || default.is_some(),
            ParamKind::InputArtifact { optional, .. } => *optional,
            ParamKind::OutputArtifact { .. } | ParamKind::FinalStatus { .. } => true,
        }
    }
}

/// Classifies every parameter; `allow_outputs` is false for pipelines.
pub fn params(sig: &Signature, allow_outputs: bool, errors: &mut Errors) -> Vec<Param> {
    let mut params = Vec::new();
    for input in &sig.inputs {
        let typed = match input {
            FnArg::Receiver(r) => {
                errors.push(syn::Error::new_spanned(r, "components and pipelines are free functions, not methods"));
                continue;
            }
            FnArg::Typed(t) => t,
        };
        let ident = match &*typed.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            other => {
                errors.push(syn::Error::new_spanned(other, "use a plain name here: inputs are named by their parameter"));
                continue;
            }
        };
        if ident.to_string().starts_with("__") {
            errors.push(syn::Error::new_spanned(&ident, "names starting with `__` are reserved for generated code"));
            continue;
        }
        let default = errors.take(default_attr(&typed.attrs)).flatten();
        if let Some(kind) = errors.take(classify(&typed.ty, default, allow_outputs)) {
            params.push(Param { ident, kind });
        }
    }
    params
}

fn default_attr(attrs: &[Attribute]) -> syn::Result<Option<Expr>> {
    let mut found = None;
    for attr in attrs {
        if attr.path().is_ident("default") {
            if found.is_some() {
                return Err(syn::Error::new_spanned(attr, "only one #[default(..)] per input"));
            }
            found = Some(attr.parse_args::<Expr>()?);
        } else {
            return Err(syn::Error::new_spanned(attr, "only #[default(value)] is allowed on component and pipeline inputs"));
        }
    }
    Ok(found)
}

fn classify(ty: &Type, default: Option<Expr>, allow_outputs: bool) -> syn::Result<ParamKind> {
    if let Type::Reference(r) = ty {
        return Err(syn::Error::new_spanned(r, "inputs are owned values: use `String` for `&str` and `Vec<T>` for slices"));
    }
    if is_named(ty, "TaskFinalStatus") {
        no_default(&default)?;
        if !allow_outputs {
            return Err(syn::Error::new_spanned(ty, "a TaskFinalStatus input belongs to an exit handler's cleanup component, not to a pipeline"));
        }
        return Ok(ParamKind::FinalStatus { ty: ty.clone() });
    }
    if let Some(artifact) = wrapped(ty, "Input") {
        no_default(&default)?;
        return Ok(ParamKind::InputArtifact { artifact, optional: false, list: false });
    }
    if let Some(artifact) = wrapped(ty, "Output") {
        no_default(&default)?;
        if !allow_outputs {
            return Err(syn::Error::new_spanned(ty, "pipelines take inputs only; `Output<..>` belongs to components"));
        }
        return Ok(ParamKind::OutputArtifact { artifact });
    }
    if let Some(inner) = wrapped(ty, "Option") {
        if let Some(artifact) = wrapped(&inner, "Input") {
            no_default(&default)?;
            return Ok(ParamKind::InputArtifact { artifact, optional: true, list: false });
        }
        if wrapped(&inner, "Output").is_some() {
            return Err(syn::Error::new_spanned(ty, "outputs cannot be optional: a component always writes its outputs"));
        }
        return Ok(ParamKind::Parameter { ty: inner, optional: true, default });
    }
    if let Some(inner) = wrapped(ty, "Vec") {
        if let Some(artifact) = wrapped(&inner, "Input") {
            no_default(&default)?;
            return Ok(ParamKind::InputArtifact { artifact, optional: false, list: true });
        }
        if wrapped(&inner, "Output").is_some() {
            return Err(syn::Error::new_spanned(ty, "lists of output artifacts are not supported by KFP containers; use one `Output<..>` per artifact"));
        }
    }
    Ok(ParamKind::Parameter { ty: ty.clone(), optional: false, default })
}

fn no_default(default: &Option<Expr>) -> syn::Result<()> {
    match default {
        Some(d) => Err(syn::Error::new_spanned(d, "artifacts cannot have a default value")),
        None => Ok(()),
    }
}

/// `T` when `ty` is `Name<T>` (by the last path segment, so `kfp::Input<T>` works too).
pub fn wrapped(ty: &Type, name: &str) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

/// The IR name of an identifier: `r#type` is `type`.
pub fn ir_name(ident: &Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}

/// Whether `ty` is the plain path `...::Name`.
fn is_named(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == name && s.arguments.is_none()))
}

/// What a component function returns.
pub struct Return {
    /// The value type (`T` of `Result<T, E>`), `()` when nothing.
    pub value: Type,
    pub is_result: bool,
}

pub fn return_type(sig: &Signature) -> Return {
    match &sig.output {
        ReturnType::Default => Return { value: syn::parse_quote!(()), is_result: false },
        ReturnType::Type(_, ty) => match wrapped(ty, "Result") {
            Some(value) => Return { value, is_result: true },
            None => Return { value: (**ty).clone(), is_result: false },
        },
    }
}

/// Doc comments joined, as kfp takes a function's docstring for the description.
pub fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Rejects what a component or pipeline function cannot be.
pub fn check_plain_fn(sig: &Signature, errors: &mut Errors) {
    if let Some(asyncness) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(asyncness, "components and pipelines cannot be async; run async code inside with a runtime of your choice"));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, "components and pipelines cannot be generic: each compiles to one fixed interface"));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(unsafety, "components and pipelines cannot be unsafe"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(variadic, "components and pipelines cannot be variadic"));
    }
}
