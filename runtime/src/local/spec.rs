//! Reading a compiled pipeline (the same IR YAML that is uploaded) and its typed arguments.

use super::error::LocalError;
use kfp_compiler::ir::{ComponentInputsSpec, ParameterType, PipelineSpec, PlatformSpec};
use serde_json::{Map, Value};
use std::path::Path;

/// Reads the first YAML document of `path` (the second, the platform spec, is [`load_platform`]'s).
pub fn load_pipeline(path: &Path) -> Result<PipelineSpec, LocalError> {
    let spec_error = |cause: String| LocalError::Spec {
        path: path.to_owned(),
        cause,
    };
    let text = std::fs::read_to_string(path).map_err(LocalError::io("cannot read", path))?;
    // YAML 1.2 booleans only: kfp writes a parameter named `n` or `y` unquoted, which YAML 1.1
    // rules would read as a boolean key.
    let documents: Vec<Value> = kfp_compiler::compile::yaml_documents(&text).map_err(spec_error)?;
    let first = documents
        .into_iter()
        .next()
        .ok_or_else(|| spec_error("no YAML document".into()))?;
    let spec: PipelineSpec = serde_json::from_value(first)
        .map_err(|e| spec_error(format!("not a KFP pipeline spec: {e}")))?;
    if spec.root.dag.is_none() {
        return Err(spec_error("root has no dag".into()));
    }
    Ok(spec)
}

/// Reads the second YAML document of `path`, the Kubernetes settings, if it has one.
pub fn load_platform(path: &Path) -> Result<Option<PlatformSpec>, LocalError> {
    let text = std::fs::read_to_string(path).map_err(LocalError::io("cannot read", path))?;
    kfp_compiler::compile::read_platform_yaml(&text).map_err(|cause| LocalError::Spec {
        path: path.to_owned(),
        cause,
    })
}

/// Types `key=value` arguments by the pipeline's input definitions: integers and doubles as
/// numbers, `true`/`false`, lists and structs as JSON, strings as written.
pub fn parse_arguments(
    inputs: &ComponentInputsSpec,
    args: &[String],
) -> Result<Map<String, Value>, LocalError> {
    let mut values = Map::new();
    for arg in args {
        let (name, text) = arg.split_once('=').ok_or_else(|| LocalError::Argument {
            name: arg.clone(),
            cause: "expected key=value".into(),
        })?;
        let error = |cause: String| LocalError::Argument {
            name: name.to_owned(),
            cause,
        };
        let spec = inputs.parameters.get(name).ok_or_else(|| {
            let known: Vec<&str> = inputs.parameters.keys().map(String::as_str).collect();
            error(format!(
                "the pipeline has no such input (its inputs: {})",
                known.join(", ")
            ))
        })?;
        values.insert(
            name.to_owned(),
            typed_value(spec.parameter_type, text).map_err(error)?,
        );
    }
    Ok(values)
}

fn typed_value(ty: ParameterType, text: &str) -> Result<Value, String> {
    let invalid = || format!("expected {} value, got '{text}'", ty.as_str());
    match ty {
        ParameterType::String => Ok(Value::String(text.to_owned())),
        ParameterType::NumberInteger => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid()),
        ParameterType::NumberDouble => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(invalid),
        ParameterType::Boolean => text
            .trim()
            .parse::<bool>()
            .map(Value::Bool)
            .map_err(|_| invalid()),
        ParameterType::List | ParameterType::Struct | ParameterType::TaskFinalStatus => {
            let value: Value =
                serde_json::from_str(text).map_err(|e| format!("{}: {e}", invalid()))?;
            if ty.accepts(&value) {
                Ok(value)
            } else {
                Err(invalid())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kfp_compiler::ir::InputParameterSpec;

    #[test]
    fn arguments_are_typed_by_the_inputs() {
        let mut inputs = ComponentInputsSpec::default();
        for (name, ty) in [
            ("n", ParameterType::NumberInteger),
            ("s", ParameterType::String),
            ("l", ParameterType::List),
        ] {
            inputs.parameters.insert(
                name.into(),
                InputParameterSpec {
                    default_value: None,
                    description: None,
                    is_optional: false,
                    parameter_type: ty,
                },
            );
        }
        let args = ["n=3", "s=a=b", "l=[1,\"x\"]"].map(String::from);
        let values = parse_arguments(&inputs, &args).unwrap();
        assert_eq!(
            Value::Object(values).to_string(),
            r#"{"n":3,"s":"a=b","l":[1,"x"]}"#
        );
        let err = parse_arguments(&inputs, &["n=3.5".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pipeline argument 'n': expected NUMBER_INTEGER value, got '3.5'"
        );
        let err = parse_arguments(&inputs, &["m=1".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pipeline argument 'm': the pipeline has no such input (its inputs: l, n, s)"
        );
    }
}
