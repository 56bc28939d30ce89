//! `triggerPolicy.condition` strings, written exactly as kfp 2.17 writes them.

use crate::dsl::{Condition, Operand};
use crate::ir::ParameterType;

/// The conjunction of a branch's conditions. `channel` names the group input a channel
/// operand arrives as (`pipelinechannel--flip-Output`).
pub fn conjunction(conditions: &[Condition], channel: &mut dyn FnMut(&crate::dsl::Argument) -> String) -> String {
    conditions.iter().map(|c| comparison(c, channel)).collect::<Vec<_>>().join(" && ")
}

fn comparison(condition: &Condition, channel: &mut dyn FnMut(&crate::dsl::Argument) -> String) -> String {
    let left = operand(&condition.left, channel);
    let right = operand(&condition.right, channel);
    let text = format!("{left} {} {right}", condition.operator);
    if condition.negate { format!("!({text})") } else { text }
}

fn operand(operand: &Operand, channel: &mut dyn FnMut(&crate::dsl::Argument) -> String) -> String {
    match operand {
        Operand::Channel(argument, ty) => {
            let value = format!("inputs.parameter_values['{}']", channel(argument));
            // CEL compares ints only after a cast (values arrive as doubles).
            if *ty == ParameterType::NumberInteger { format!("int({value})") } else { value }
        }
        Operand::Constant(value, _) => match value {
            serde_json::Value::String(s) => format!("'{s}'"),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) if n.is_f64() => python_float(n.as_f64().unwrap_or_default()),
            other => other.to_string(),
        },
    }
}

/// Python's `str(float)`, which kfp uses for float constants: `0.5`, `1.0`, `1e-05`.
fn python_float(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let text = value.to_string();
    if text.contains('.') || text.contains("inf") || text.contains("NaN") { text } else { format!("{text}.0") }
}

#[cfg(test)]
mod tests {
    use super::python_float;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(python_float(0.5), "0.5");
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(2.5e20), "2.5e+20");
        assert_eq!(python_float(-3.0), "-3.0");
    }
}
