//! What a `#[component]` says, parsed and validated.

use crate::attrs::{Errors, parse_args};
use crate::crate_defaults;
use crate::signature::{self, Param, Return};
use proc_macro2::{Span, TokenStream};
use syn::{ItemFn, LitStr};

pub struct Component {
    pub params: Vec<Param>,
    pub ret: Return,
    pub description: Option<String>,
    pub image: String,
    pub binary: String,
    pub manifest: Option<std::path::PathBuf>,
    pub cpu_limit: Option<String>,
    pub cpu_request: Option<String>,
    pub memory_limit: Option<String>,
    pub memory_request: Option<String>,
    pub accelerator: Option<String>,
    pub accelerator_limit: Option<u32>,
    pub env: Vec<(String, String)>,
    pub caching: bool,
    pub retries: Option<u32>,
    pub display_name: Option<String>,
    /// `distributed(nodes = N, nproc_per_node = M)`.
    pub distributed: Option<(u32, u32)>,
}

const KNOWN: &[&str] = &[
    "image",
    "binary",
    "cpu_limit",
    "cpu_request",
    "memory_limit",
    "memory_request",
    "accelerator",
    "accelerator_limit",
    "env",
    "caching",
    "retries",
    "display_name",
    "distributed",
];

impl Component {
    /// Parses the attribute and the signature; strips `#[default]` from the function.
    pub fn parse(attr: TokenStream, function: &mut ItemFn) -> syn::Result<Self> {
        let mut errors = Errors::default();
        signature::check_plain_fn(&function.sig, &mut errors);
        let params = signature::params(&function.sig, true, &mut errors);
        strip_input_attrs(function);
        let defaults = match crate_defaults::load() {
            Ok(d) => Some(d),
            Err(message) => {
                errors.push(syn::Error::new(Span::call_site(), message));
                None
            }
        };
        let mut component = Component {
            params,
            ret: signature::return_type(&function.sig),
            description: signature::doc_comment(&function.attrs),
            image: String::new(),
            binary: defaults.as_ref().map(|d| d.binary.clone()).unwrap_or_default(),
            manifest: defaults.as_ref().and_then(|d| d.manifest.clone()),
            cpu_limit: None,
            cpu_request: None,
            memory_limit: None,
            memory_request: None,
            accelerator: None,
            accelerator_limit: None,
            env: Vec::new(),
            caching: true,
            retries: None,
            display_name: None,
            distributed: None,
        };
        let mut image = None;
        let mut accelerator_limit_token = None;
        let args = errors.take(parse_args(attr));
        // After a malformed attribute, report only that: a missing image would be a consequence.
        let args_ok = args.is_some();
        for arg in args.unwrap_or_default() {
            let key = arg.key.to_string();
            match key.as_str() {
                "image" => image = errors.take(arg.string()).map(|s| non_empty(&s)).and_then(|r| errors.take(r)),
                "binary" => {
                    if let Some(s) = errors.take(arg.string()) {
                        component.binary = s.value();
                    }
                }
                "cpu_limit" | "cpu_request" => {
                    let value = errors.take(arg.string().and_then(|s| quantity(&s, is_cpu, CPU_HINT)));
                    *(if key == "cpu_limit" { &mut component.cpu_limit } else { &mut component.cpu_request }) = value;
                }
                "memory_limit" | "memory_request" => {
                    let value = errors.take(arg.string().and_then(|s| quantity(&s, is_memory, MEMORY_HINT)));
                    *(if key == "memory_limit" { &mut component.memory_limit } else { &mut component.memory_request }) =
                        value;
                }
                "accelerator" => component.accelerator = errors.take(arg.string()).map(|s| s.value()),
                "accelerator_limit" => {
                    component.accelerator_limit = errors.take(arg.int());
                    accelerator_limit_token = Some(arg.key.clone());
                }
                "env" => {
                    for var in errors.take(arg.list()).unwrap_or_default() {
                        if let Some(value) = errors.take(var.string()) {
                            component.env.push((var.key.to_string(), value.value()));
                        }
                    }
                }
                "caching" => component.caching = errors.take(arg.bool()).unwrap_or(true),
                "retries" => component.retries = errors.take(arg.int()),
                "display_name" => component.display_name = errors.take(arg.string()).map(|s| s.value()),
                "distributed" => component.distributed = errors.take(distributed(&arg)),
                _ => errors.push(arg.unknown(KNOWN)),
            }
        }
        if let (Some(token), None) = (&accelerator_limit_token, &component.accelerator) {
            errors.push(syn::Error::new_spanned(
                token,
                "`accelerator_limit` needs `accelerator = \"...\"` (like \"nvidia.com/gpu\")",
            ));
        }
        match image.or_else(|| defaults.and_then(|d| d.image)) {
            Some(image) => component.image = image,
            None if !args_ok => {}
            None => errors.push(syn::Error::new_spanned(
                &function.sig.ident,
                "component has no container image: add `image = \"...\"` or set `image` under [package.metadata.kfp] in Cargo.toml",
            )),
        }
        errors.finish()?;
        Ok(component)
    }
}

/// `distributed(nodes = N, nproc_per_node = M)`, both at least 1.
fn distributed(arg: &crate::attrs::Arg) -> syn::Result<(u32, u32)> {
    let (mut nodes, mut nproc) = (None, None);
    for setting in arg.list()? {
        let value = setting.int()?;
        if value == 0 {
            return Err(syn::Error::new_spanned(&setting.key, format!("`{}` must be at least 1", setting.key)));
        }
        match setting.key.to_string().as_str() {
            "nodes" => nodes = Some(value),
            "nproc_per_node" => nproc = Some(value),
            _ => return Err(setting.unknown(&["nodes", "nproc_per_node"])),
        }
    }
    match (nodes, nproc) {
        (Some(nodes), Some(nproc)) => Ok((nodes, nproc)),
        _ => Err(syn::Error::new_spanned(&arg.key, "write `distributed(nodes = N, nproc_per_node = M)`")),
    }
}

fn strip_input_attrs(function: &mut ItemFn) {
    for input in &mut function.sig.inputs {
        if let syn::FnArg::Typed(t) = input {
            t.attrs.retain(|a| !a.path().is_ident("default"));
        }
    }
}

fn non_empty(s: &LitStr) -> syn::Result<String> {
    let value = s.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new_spanned(s, "the image cannot be empty"));
    }
    Ok(value)
}

const CPU_HINT: &str = "is not a CPU quantity; use cores like \"8\" or \"0.5\", or millicores like \"500m\"";
const MEMORY_HINT: &str = "is not a memory quantity; use bytes with a unit like \"32Gi\", \"512Mi\" or \"1G\"";

fn quantity(s: &LitStr, valid: fn(&str) -> bool, hint: &str) -> syn::Result<String> {
    let value = s.value();
    if valid(&value) { Ok(value) } else { Err(syn::Error::new_spanned(s, format!("{value:?} {hint}"))) }
}

// Same grammar as kfp_compiler::dsl::{cpu_to_cores, memory_to_gb}; the macro cannot depend on
// the compiler crate without making every user build it twice.
fn is_cpu(text: &str) -> bool {
    is_decimal(text.strip_suffix('m').unwrap_or(text))
}

fn is_memory(text: &str) -> bool {
    const UNITS: [&str; 12] = ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki", "E", "P", "T", "G", "M", "K"];
    let number = UNITS.iter().find_map(|u| text.strip_suffix(u)).unwrap_or(text);
    is_decimal(number)
}

fn is_decimal(text: &str) -> bool {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        None => !text.is_empty() && digits(text),
        Some((whole, fraction)) => !fraction.is_empty() && digits(fraction) && digits(whole),
    }
}
