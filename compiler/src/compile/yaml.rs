//! IR <-> YAML, with the informational header kfp writes.

use crate::ir::{ParameterType, PipelineSpec};
use std::fmt::Write;

/// The YAML text of a spec: kfp's `# PIPELINE DEFINITION` header, then the document.
pub fn to_yaml(spec: &PipelineSpec) -> Result<String, serde_saphyr::ser_error::Error> {
    let mut text = header(spec);
    text.push_str(&serde_saphyr::to_string(spec)?);
    Ok(text)
}

/// Reads the pipeline document (the first one) of an IR file.
pub fn read_yaml(text: &str) -> Result<PipelineSpec, String> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    let first = docs.into_iter().next().ok_or("the file has no YAML document")?;
    serde_json::from_value(first).map_err(|e| e.to_string())
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
