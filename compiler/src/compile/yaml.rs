//! IR <-> YAML, with the informational header kfp writes.

use super::pipeline::CompiledPipeline;
use crate::ir::{ParameterType, PipelineSpec, PlatformSpec};
use std::fmt::Write;

/// The YAML text of a compiled pipeline: kfp's `# PIPELINE DEFINITION` header, the pipeline
/// document, and the platform document after `---` when there is one.
pub fn to_yaml(compiled: &CompiledPipeline) -> Result<String, serde_saphyr::ser_error::Error> {
    let mut text = header(&compiled.spec);
    text.push_str(&serde_saphyr::to_string(&compiled.spec)?);
    if let Some(platform) = &compiled.platform {
        text.push_str("---\n");
        text.push_str(&serde_saphyr::to_string(platform)?);
    }
    Ok(text)
}

/// Reads the pipeline document (the first one) of an IR file.
pub fn read_yaml(text: &str) -> Result<PipelineSpec, String> {
    let docs = documents(text)?;
    let first = docs.into_iter().next().ok_or("the file has no YAML document")?;
    serde_json::from_value(first).map_err(|e| e.to_string())
}

/// Reads the platform document (the second one) of an IR file; `None` when there is none.
pub fn read_platform_yaml(text: &str) -> Result<Option<PlatformSpec>, String> {
    let docs = documents(text)?;
    match docs.into_iter().nth(1) {
        None => Ok(None),
        Some(second) => serde_json::from_value(second).map(Some).map_err(|e| format!("platform document: {e}")),
    }
}

/// The YAML documents of a file. YAML 1.2 booleans only: an input named `n` or `on` stays a
/// string, as in every file kfp-rs writes (it quotes such strings).
pub fn documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_multiple_with_options(text, options).map_err(|e| e.to_string())
}

fn header(spec: &PipelineSpec) -> String {
    let mut out = String::from("# PIPELINE DEFINITION\n");
    let _ = writeln!(out, "# Name: {}", spec.pipeline_info.name);
    if let Some(description) = &spec.pipeline_info.description {
        let _ = writeln!(out, "# Description: {}", description.replace('\n', "\n#              "));
    }
    let inputs = &spec.root.input_definitions;
    if !inputs.is_empty() {
        out.push_str("# Inputs:\n");
        let params = inputs.parameters.iter().map(|(name, p)| {
            let default = p.default_value.as_ref().map(|d| format!(" [Default: {d}]")).unwrap_or_default();
            (name, format!("{}{default}", python_type(p.parameter_type)))
        });
        let artifacts = inputs.artifacts.iter().map(|(name, a)| (name, a.artifact_type.schema_title.clone()));
        let mut all: Vec<_> = params.chain(artifacts).collect();
        all.sort();
        for (name, ty) in all {
            let _ = writeln!(out, "#    {name}: {ty}");
        }
    }
    out
}

/// The Python annotation kfp prints for a parameter type, so headers read the same.
fn python_type(ty: ParameterType) -> &'static str {
    match ty {
        ParameterType::String => "str",
        ParameterType::NumberInteger => "int",
        ParameterType::NumberDouble => "float",
        ParameterType::Boolean => "bool",
        ParameterType::List => "list",
        ParameterType::Struct => "dict",
        ParameterType::TaskFinalStatus => "PipelineTaskFinalStatus",
    }
}
