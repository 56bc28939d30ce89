//! Typing `key=value` command-line arguments from the pipeline's
//! `root.inputDefinitions.parameters` (KFP IR `parameterType`).

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("argument {0:?} is not of the form key=value")]
    NotKeyValue(String),
    #[error("parameter {name:?} is given twice")]
    Duplicate { name: String },
    #[error("the pipeline has no parameter {name:?}; its parameters are: {known}")]
    Unknown { name: String, known: String },
    #[error("parameter {name:?} ({kind}): {value:?} is not {expected}")]
    Invalid {
        name: String,
        kind: String,
        value: String,
        expected: &'static str,
    },
    #[error("missing required parameter(s): {0}")]
    Missing(String),
    #[error("parameter {name:?} has type {kind}, which is set by KFP and cannot be passed")]
    NotSettable { name: String, kind: String },
    #[error("root.inputDefinitions.parameters.{name}: {problem}")]
    Spec { name: String, problem: String },
}

/// `parameterType` values of KFP IR (pipeline_spec.proto ParameterType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterType {
    String,
    Integer,
    Double,
    Boolean,
    List,
    Struct,
    TaskFinalStatus,
}

impl ParameterType {
    fn from_ir(name: &str) -> Option<ParameterType> {
        Some(match name {
            "STRING" => ParameterType::String,
            "NUMBER_INTEGER" => ParameterType::Integer,
            "NUMBER_DOUBLE" => ParameterType::Double,
            "BOOLEAN" => ParameterType::Boolean,
            "LIST" => ParameterType::List,
            "STRUCT" => ParameterType::Struct,
            "TASK_FINAL_STATUS" => ParameterType::TaskFinalStatus,
            _ => return None,
        })
    }

    pub fn ir_name(self) -> &'static str {
        match self {
            ParameterType::String => "STRING",
            ParameterType::Integer => "NUMBER_INTEGER",
            ParameterType::Double => "NUMBER_DOUBLE",
            ParameterType::Boolean => "BOOLEAN",
            ParameterType::List => "LIST",
            ParameterType::Struct => "STRUCT",
            ParameterType::TaskFinalStatus => "TASK_FINAL_STATUS",
        }
    }
}

/// One pipeline input parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct InputParameter {
    pub name: String,
    pub kind: ParameterType,
    /// Has a `defaultValue` or `isOptional: true`, so it may be left out.
    pub optional: bool,
}

/// Reads `root.inputDefinitions.parameters` of a pipeline spec; no section means no parameters.
pub fn input_parameters(pipeline_spec: &Value) -> Result<Vec<InputParameter>, ParamError> {
    let Some(parameters) = pipeline_spec.pointer("/root/inputDefinitions/parameters") else {
        return Ok(Vec::new());
    };
    let parameters = parameters.as_object().ok_or_else(|| ParamError::Spec {
        name: String::new(),
        problem: "is not a mapping".into(),
    })?;
    parameters
        .iter()
        .map(|(name, definition)| {
            let spec_error = |problem: String| ParamError::Spec {
                name: name.clone(),
                problem,
            };
            let type_name = definition
                .get("parameterType")
                .and_then(Value::as_str)
                .ok_or_else(|| spec_error("has no parameterType".into()))?;
            let kind = ParameterType::from_ir(type_name)
                .ok_or_else(|| spec_error(format!("unknown parameterType {type_name:?}")))?;
            let optional = definition.get("defaultValue").is_some()
                || definition
                    .get("isOptional")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            Ok(InputParameter {
                name: name.clone(),
                kind,
                optional,
            })
        })
        .collect()
}

/// Splits `key=value` arguments (at the first `=`), rejecting malformed and repeated keys.
pub fn split_assignments(args: &[String]) -> Result<Vec<(String, String)>, ParamError> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(args.len());
    for arg in args {
        let (key, value) = arg
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| ParamError::NotKeyValue(arg.clone()))?;
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(ParamError::Duplicate {
                name: key.to_string(),
            });
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// Types each assignment by its parameter and checks that every required parameter is given.
pub fn type_arguments(
    parameters: &[InputParameter],
    assignments: &[(String, String)],
) -> Result<Map<String, Value>, ParamError> {
    let mut typed = Map::new();
    for (name, raw) in assignments {
        let parameter =
            parameters
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| ParamError::Unknown {
                    name: name.clone(),
                    known: if parameters.is_empty() {
                        "(none)".to_string()
                    } else {
                        parameters
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                })?;
        typed.insert(name.clone(), type_value(parameter, raw)?);
    }
    let missing: Vec<&str> = parameters
        .iter()
        .filter(|p| {
            !p.optional && p.kind != ParameterType::TaskFinalStatus && !typed.contains_key(&p.name)
        })
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ParamError::Missing(missing.join(", ")));
    }
    Ok(typed)
}

fn type_value(parameter: &InputParameter, raw: &str) -> Result<Value, ParamError> {
    let invalid = |expected| ParamError::Invalid {
        name: parameter.name.clone(),
        kind: parameter.kind.ir_name().to_string(),
        value: raw.to_string(),
        expected,
    };
    match parameter.kind {
        ParameterType::String => Ok(Value::String(raw.to_string())),
        ParameterType::Integer => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid("an integer")),
        ParameterType::Double => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| invalid("a finite number")),
        ParameterType::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(invalid("true or false")),
        },
        ParameterType::List => match serde_json::from_str::<Value>(raw) {
            Ok(list @ Value::Array(_)) => Ok(list),
            _ => Err(invalid("a JSON list")),
        },
        ParameterType::Struct => match serde_json::from_str::<Value>(raw) {
            Ok(object @ Value::Object(_)) => Ok(object),
            _ => Err(invalid("a JSON object")),
        },
        ParameterType::TaskFinalStatus => Err(ParamError::NotSettable {
            name: parameter.name.clone(),
            kind: parameter.kind.ir_name().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({"root": {"inputDefinitions": {"parameters": {
            "name": {"parameterType": "STRING"},
            "epochs": {"parameterType": "NUMBER_INTEGER", "defaultValue": 3},
            "lr": {"parameterType": "NUMBER_DOUBLE", "isOptional": true},
            "shuffle": {"parameterType": "BOOLEAN", "defaultValue": true},
            "layers": {"parameterType": "LIST", "defaultValue": [1]},
            "extra": {"parameterType": "STRUCT", "defaultValue": {}}
        }}}})
    }

    fn typed(args: &[&str]) -> Result<Map<String, Value>, ParamError> {
        let params = input_parameters(&spec()).unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        type_arguments(&params, &split_assignments(&args)?)
    }

    #[test]
    fn values_are_typed_by_parameter_type() {
        let map = typed(&[
            "name=a=b",
            "epochs=7",
            "lr=3",
            "shuffle=False",
            "layers=[1,2]",
            "extra={\"k\":1}",
        ])
        .unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"name": "a=b", "epochs": 7, "lr": 3.0, "shuffle": false, "layers": [1, 2], "extra": {"k": 1}})
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let err = typed(&["name=x", "epochs=3.5"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter \"epochs\" (NUMBER_INTEGER): \"3.5\" is not an integer"
        );
        assert!(matches!(
            typed(&["name=x", "lr=nan"]),
            Err(ParamError::Invalid { .. })
        ));
        assert!(matches!(
            typed(&["name=x", "shuffle=yes"]),
            Err(ParamError::Invalid { .. })
        ));
        assert!(matches!(
            typed(&["name=x", "layers={}"]),
            Err(ParamError::Invalid { .. })
        ));
        assert!(matches!(
            typed(&["name=x", "extra=[]"]),
            Err(ParamError::Invalid { .. })
        ));
    }

    #[test]
    fn unknown_missing_duplicate_and_malformed_are_rejected() {
        let err = typed(&["name=x", "epoch=1"]).unwrap_err();
        assert!(
            err.to_string().contains("\"epoch\"") && err.to_string().contains("epochs"),
            "{err}"
        );
        assert_eq!(
            typed(&["epochs=1"]).unwrap_err(),
            ParamError::Missing("name".into())
        );
        assert_eq!(
            typed(&["name=x", "name=y"]).unwrap_err(),
            ParamError::Duplicate {
                name: "name".into()
            }
        );
        assert_eq!(
            typed(&["name"]).unwrap_err(),
            ParamError::NotKeyValue("name".into())
        );
        assert_eq!(
            typed(&["=x"]).unwrap_err(),
            ParamError::NotKeyValue("=x".into())
        );
    }

    #[test]
    fn spec_without_inputs_and_broken_specs() {
        assert!(
            input_parameters(&json!({"root": {"dag": {}}}))
                .unwrap()
                .is_empty()
        );
        let err = input_parameters(&json!({"root": {"inputDefinitions": {"parameters": {"p": {"parameterType": "FLOAT"}}}}})).unwrap_err();
        assert!(
            err.to_string()
                .contains("root.inputDefinitions.parameters.p"),
            "{err}"
        );
    }
}
