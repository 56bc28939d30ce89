//! Parameter values across the protocol boundary: JSON doubles in, launcher-parsable text out.

use kfp_compiler::ir::ParameterType;
use serde_json::{Number, Value};

/// Converts an input value (every number a JSON double, as protojson carries it) to `T`.
/// The error text is the cause only; the caller names the component and the input.
pub fn decode<T: kfp_compiler::dsl::ParamType>(value: &Value) -> Result<T, String> {
    if !T::TYPE.accepts(value) {
        return Err(mismatch(T::TYPE, value));
    }
    serde_json::from_value(integral_doubles_as_integers(value)).map_err(|err| {
        format!(
            "expected {}, got {}: {err}",
            describe(T::TYPE),
            brief(value)
        )
    })
}

/// protojson writes `3` but other writers `3.0`; an integer field must take both, so every
/// whole double that fits an i64 becomes an integer. Float fields still accept integers.
fn integral_doubles_as_integers(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Value::Number(Number::from(f as i64))
            } else {
                value.clone()
            }
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(integral_doubles_as_integers).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), integral_doubles_as_integers(v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

fn mismatch(ty: ParameterType, value: &Value) -> String {
    format!("expected {}, got {}", describe(ty), brief(value))
}

fn describe(ty: ParameterType) -> &'static str {
    match ty {
        ParameterType::NumberInteger => "an integer",
        ParameterType::NumberDouble => "a number",
        ParameterType::String => "a string",
        ParameterType::Boolean => "a boolean",
        ParameterType::List => "a list",
        ParameterType::Struct | ParameterType::TaskFinalStatus => "a struct",
    }
}

/// The value as a short JSON snippet for an error message.
fn brief(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

/// The text the KFP launcher's `TextToPbValue` parses for `ty`: strings raw, integers for
/// `strconv.ParseInt`, doubles for `strconv.ParseFloat`, `true`/`false`, JSON for lists and
/// structs.
pub fn output_text(ty: ParameterType, value: &Value) -> Result<String, String> {
    let wrong = || {
        format!(
            "the function returned {} for a {} output",
            brief(value),
            ty.as_str()
        )
    };
    match (ty, value) {
        (ParameterType::String, Value::String(s)) => Ok(s.clone()),
        (ParameterType::NumberInteger, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Ok(u.to_string())
            } else {
                Err(wrong())
            }
        }
        // Rust prints the shortest round-trip decimal and never an exponent; ParseFloat reads it.
        (ParameterType::NumberDouble, Value::Number(n)) => Ok(match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map(|f| f.to_string()).ok_or_else(wrong)?,
        }),
        (ParameterType::Boolean, Value::Bool(b)) => Ok(b.to_string()),
        (ParameterType::List, Value::Array(_)) | (ParameterType::Struct, Value::Object(_)) => {
            Ok(value.to_string())
        }
        // serde_json turns NaN and infinities into null: KFP parameters cannot carry them.
        (ParameterType::NumberDouble, Value::Null) => Err(
            "the function returned a NaN or infinite number, which KFP parameters cannot carry"
                .into(),
        ),
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_arrive_as_doubles() {
        assert_eq!(decode::<i64>(&json!(3.0)).unwrap(), 3);
        assert_eq!(decode::<u8>(&json!(3)).unwrap(), 3);
        assert_eq!(
            decode::<i64>(&json!(3.5)).unwrap_err(),
            "expected an integer, got 3.5"
        );
        assert!(
            decode::<u8>(&json!(300.0))
                .unwrap_err()
                .starts_with("expected an integer, got 300")
        );
        assert_eq!(decode::<Vec<i32>>(&json!([1.0, 2.0])).unwrap(), vec![1, 2]);
        assert_eq!(decode::<f64>(&json!(3)).unwrap(), 3.0);
        assert_eq!(
            decode::<String>(&json!(1)).unwrap_err(),
            "expected a string, got 1"
        );
    }

    #[test]
    fn doubles_are_read_exactly() {
        let value: Value = serde_json::from_str("0.9900990099009901").unwrap();
        assert_eq!(decode::<f64>(&value).unwrap(), 1.0 / 1.01);
    }

    #[test]
    fn output_text_is_what_the_launcher_parses() {
        assert_eq!(
            output_text(ParameterType::NumberDouble, &json!(1e-7)).unwrap(),
            "0.0000001"
        );
        assert_eq!(
            output_text(ParameterType::NumberDouble, &json!(2.0)).unwrap(),
            "2"
        );
        assert_eq!(
            output_text(ParameterType::NumberInteger, &json!(-4)).unwrap(),
            "-4"
        );
        assert_eq!(
            output_text(ParameterType::String, &json!("a\nb")).unwrap(),
            "a\nb"
        );
        assert_eq!(
            output_text(ParameterType::Struct, &json!({"b": [1, "x"]})).unwrap(),
            r#"{"b":[1,"x"]}"#
        );
        assert!(output_text(ParameterType::NumberInteger, &json!(1.5)).is_err());
        assert!(output_text(ParameterType::NumberDouble, &Value::Null).is_err());
    }
}
