//! The subset of CEL that kfp writes into `triggerPolicy.condition` and
//! `parameterExpressionSelector`: `inputs.parameter_values['x']`, literals, `int()`,
//! `double()`, `string()`, `parseJson()`, indexing, comparisons, `!`, `&&`, `||`, parentheses.

use serde_json::{Map, Value};

/// Evaluates `expression` with `parameters` as `inputs.parameter_values` and `this` as
/// `string_value`/`number_value`/... (the value a selector applies to).
pub fn evaluate(
    expression: &str,
    parameters: &Map<String, Value>,
    this: Option<&Value>,
) -> Result<Value, String> {
    let tokens = tokenize(expression)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        parameters,
        this,
    };
    let value = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(value),
        Some(token) => Err(format!("unexpected {token:?} in {expression:?}")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                s.push(chars[i]);
                i += 1;
            }
            if i == chars.len() {
                return Err(format!("unterminated string in {text:?}"));
            }
            i += 1;
            tokens.push(Token::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | 'e' | 'E'))
            {
                i += 1;
            }
            let literal: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(
                literal
                    .parse()
                    .map_err(|_| format!("bad number {literal:?} in {text:?}"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "<=", ">=", "&&", "||"]
                .into_iter()
                .find(|op| *op == two);
            match op {
                Some(op) => {
                    tokens.push(Token::Op(op));
                    i += 2;
                }
                None => {
                    let op = ["<", ">", "!", "(", ")", "[", "]", ".", "-", ","]
                        .into_iter()
                        .find(|op| op.starts_with(c))
                        .ok_or_else(|| format!("unexpected {c:?} in {text:?}"))?;
                    tokens.push(Token::Op(op));
                    i += 1;
                }
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    parameters: &'a Map<String, Value>,
    this: Option<&'a Value>,
}

impl Parser<'_> {
    fn eat(&mut self, op: &str) -> bool {
        let found = matches!(self.tokens.get(self.at), Some(Token::Op(o)) if *o == op);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected '{op}' at {:?}", self.tokens.get(self.at)))
        }
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = Value::Bool(truthy(&left)? || truthy(&right)?);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut left = self.comparison()?;
        while self.eat("&&") {
            let right = self.comparison()?;
            left = Value::Bool(truthy(&left)? && truthy(&right)?);
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Value, String> {
        let left = self.unary()?;
        let Some(Token::Op(op)) = self.tokens.get(self.at).cloned() else {
            return Ok(left);
        };
        if !matches!(op, "==" | "!=" | "<" | "<=" | ">" | ">=") {
            return Ok(left);
        }
        self.at += 1;
        let right = self.unary()?;
        let ordering = compare(&left, &right)?;
        Ok(Value::Bool(match op {
            "==" => ordering == Some(std::cmp::Ordering::Equal),
            "!=" => ordering != Some(std::cmp::Ordering::Equal),
            "<" => ordering == Some(std::cmp::Ordering::Less),
            "<=" => matches!(
                ordering,
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            ),
            ">" => ordering == Some(std::cmp::Ordering::Greater),
            _ => matches!(
                ordering,
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            ),
        }))
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat("!") {
            return Ok(Value::Bool(!truthy(&self.unary()?)?));
        }
        if self.eat("-") {
            let value = self.unary()?;
            return value
                .as_f64()
                .map(|f| number(-f))
                .ok_or_else(|| format!("cannot negate {value}"));
        }
        let mut value = self.primary()?;
        while self.eat("[") {
            let key = self.or()?;
            self.expect("]")?;
            value = index(&value, &key)?;
        }
        Ok(value)
    }

    fn primary(&mut self) -> Result<Value, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("unexpected end of expression")?;
        self.at += 1;
        match token {
            Token::Str(s) => Ok(Value::String(s)),
            Token::Num(n) => Ok(number(n)),
            Token::Op("(") => {
                let value = self.or()?;
                self.expect(")")?;
                Ok(value)
            }
            Token::Ident(name) => self.identifier(&name),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn identifier(&mut self, name: &str) -> Result<Value, String> {
        match name {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" => Ok(Value::Null),
            "inputs" => {
                self.expect(".")?;
                match self.tokens.get(self.at).cloned() {
                    Some(Token::Ident(field)) if field == "parameter_values" => self.at += 1,
                    other => {
                        return Err(format!(
                            "expected parameter_values after 'inputs.', got {other:?}"
                        ));
                    }
                }
                self.expect("[")?;
                let Some(Token::Str(key)) = self.tokens.get(self.at).cloned() else {
                    return Err("expected a quoted input name".into());
                };
                self.at += 1;
                self.expect("]")?;
                self.parameters
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| format!("no input parameter '{key}'"))
            }
            "string_value" | "number_value" | "bool_value" | "struct_value" | "list_value" => self
                .this
                .cloned()
                .ok_or_else(|| format!("'{name}' has no value here")),
            "int" | "double" | "string" | "parseJson" => {
                self.expect("(")?;
                let argument = self.or()?;
                self.expect(")")?;
                convert(name, argument)
            }
            other => Err(format!("unsupported identifier '{other}'")),
        }
    }
}

fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn convert(function: &str, value: Value) -> Result<Value, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match function {
        "int" => match &value {
            Value::Number(n) => Ok(number(n.as_f64().unwrap_or(0.0).trunc())),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("int({s:?})")),
            other => Err(format!("int({other})")),
        },
        "double" => match &value {
            Value::Number(_) => Ok(value),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .map(number)
                .map_err(|_| format!("double({s:?})")),
            other => Err(format!("double({other})")),
        },
        "string" => Ok(Value::String(text(&value))),
        _ => match value {
            Value::String(s) => serde_json::from_str(&s).map_err(|e| format!("parseJson: {e}")),
            other => Ok(other),
        },
    }
}

fn index(value: &Value, key: &Value) -> Result<Value, String> {
    match (value, key) {
        (Value::Object(map), Value::String(k)) => map
            .get(k)
            .cloned()
            .ok_or_else(|| format!("no key '{k}' in {value}")),
        (Value::Array(items), Value::Number(n)) => n
            .as_u64()
            .and_then(|i| items.get(i as usize))
            .cloned()
            .ok_or_else(|| format!("index {n} out of range")),
        _ => Err(format!("cannot index {value} with {key}")),
    }
}

fn truthy(value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("expected a boolean, got {value}"))
}

fn compare(left: &Value, right: &Value) -> Result<Option<std::cmp::Ordering>, String> {
    Ok(match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(std::cmp::Ordering::Equal),
        (Value::Null, _) | (_, Value::Null) => None,
        (a, b) => return Err(format!("cannot compare {a} with {b}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str) -> Value {
        let params = json!({"pipelinechannel--coin": "heads", "pipelinechannel--n": 7, "s": "{\"a\": [1, 2]}"});
        evaluate(
            expr,
            params.as_object().unwrap(),
            Some(&json!("{\"a\": 3}")),
        )
        .unwrap()
    }

    #[test]
    fn kfp_conditions() {
        assert_eq!(
            eval("inputs.parameter_values['pipelinechannel--coin'] == 'heads'"),
            json!(true)
        );
        assert_eq!(
            eval("int(inputs.parameter_values['pipelinechannel--n']) > 5"),
            json!(true)
        );
        assert_eq!(
            eval("!(inputs.parameter_values['pipelinechannel--coin'] == 'heads') && 1 < 2"),
            json!(false)
        );
        assert_eq!(
            eval("double(inputs.parameter_values['pipelinechannel--n']) <= 6.5 || false"),
            json!(false)
        );
        assert_eq!(eval("parseJson(string_value)[\"a\"]"), json!(3));
        assert_eq!(
            eval("parseJson(inputs.parameter_values['s'])['a'][1]"),
            json!(2)
        );
        assert!(evaluate("inputs.parameter_values['missing'] == 1", &Map::new(), None).is_err());
    }
}
