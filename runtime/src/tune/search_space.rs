//! Optuna's distribution JSON form (`optuna.distributions.distribution_to_json`), so that search
//! spaces written for Optuna can be reused: `{"x": {"name": "FloatDistribution", "attributes":
//! {"low": 0, "high": 1, "log": false, "step": null}}}`.

use super::distributions::{Distribution, ParamValue};
use super::error::TuneError;
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

/// Parameter name → distribution, in the order given.
pub type SearchSpace = IndexMap<String, Distribution>;

/// Parses a whole search space (a JSON object of distributions).
pub fn parse_search_space(text: &str) -> Result<SearchSpace, TuneError> {
    let value: Value = serde_json::from_str(text).map_err(|e| TuneError::SearchSpace(format!("not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(TuneError::SearchSpace("expected a JSON object mapping parameter names to distributions".into()));
    };
    if map.is_empty() {
        return Err(TuneError::SearchSpace("the search space has no parameter".into()));
    }
    map.iter().map(|(name, v)| Ok((name.clone(), distribution_from_json(name, v)?))).collect()
}

/// Writes a search space in Optuna's JSON form.
pub fn search_space_to_json(space: &SearchSpace) -> Value {
    Value::Object(space.iter().map(|(k, d)| (k.clone(), distribution_to_json(d))).collect())
}

/// One distribution in Optuna's JSON form.
pub fn distribution_to_json(d: &Distribution) -> Value {
    match d {
        Distribution::Float { low, high, log, step } => {
            json!({"name": "FloatDistribution", "attributes": {"step": step, "low": low, "high": high, "log": log}})
        }
        Distribution::Int { low, high, log, step } => {
            json!({"name": "IntDistribution", "attributes": {"log": log, "step": step, "low": low, "high": high}})
        }
        Distribution::Categorical { choices } => json!({"name": "CategoricalDistribution", "attributes": {"choices": choices}}),
    }
}

fn fail(name: &str, reason: String) -> TuneError {
    TuneError::InvalidDistribution { name: name.to_owned(), reason }
}

fn number(name: &str, attrs: &Map<String, Value>, key: &str) -> Result<f64, TuneError> {
    attrs.get(key).and_then(Value::as_f64).ok_or_else(|| fail(name, format!("attribute `{key}` must be a number, got {}", attrs.get(key).unwrap_or(&Value::Null))))
}

fn integer(name: &str, attrs: &Map<String, Value>, key: &str, default: Option<i64>) -> Result<i64, TuneError> {
    match attrs.get(key) {
        None | Some(Value::Null) if default.is_some() => Ok(default.unwrap_or_default()),
        Some(v) => v.as_i64().ok_or_else(|| fail(name, format!("attribute `{key}` must be an integer, got {v}"))),
        None => Err(fail(name, format!("attribute `{key}` is missing"))),
    }
}

fn flag(name: &str, attrs: &Map<String, Value>, key: &str) -> Result<bool, TuneError> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(fail(name, format!("attribute `{key}` must be true or false, got {v}"))),
    }
}

/// Parses one distribution; `name` is the parameter, for messages.
pub fn distribution_from_json(name: &str, value: &Value) -> Result<Distribution, TuneError> {
    let kind = value.get("name").and_then(Value::as_str).ok_or_else(|| fail(name, format!("expected {{\"name\": ..., \"attributes\": {{...}}}}, got {value}")))?;
    let empty = Map::new();
    let attrs = match value.get("attributes") {
        Some(Value::Object(m)) => m,
        None => &empty,
        Some(other) => return Err(fail(name, format!("`attributes` must be an object, got {other}"))),
    };
    match kind {
        "FloatDistribution" => {
            let step = match attrs.get("step") {
                None | Some(Value::Null) => None,
                Some(_) => Some(number(name, attrs, "step")?),
            };
            Distribution::float(name, number(name, attrs, "low")?, number(name, attrs, "high")?, flag(name, attrs, "log")?, step)
        }
        "IntDistribution" => Distribution::int(
            name,
            integer(name, attrs, "low", None)?,
            integer(name, attrs, "high", None)?,
            flag(name, attrs, "log")?,
            integer(name, attrs, "step", Some(1))?,
        ),
        "CategoricalDistribution" => {
            let choices = attrs.get("choices").and_then(Value::as_array).ok_or_else(|| fail(name, "attribute `choices` must be a list".into()))?;
            let choices = choices
                .iter()
                .map(|c| serde_json::from_value::<ParamValue>(c.clone()).map_err(|_| fail(name, format!("choice {c} is not a string, number or bool"))))
                .collect::<Result<Vec<_>, _>>()?;
            Distribution::categorical(name, choices)
        }
        // Optuna's pre-3.0 names, still found in stored studies.
        "UniformDistribution" => Distribution::float(name, number(name, attrs, "low")?, number(name, attrs, "high")?, false, None),
        "LogUniformDistribution" => Distribution::float(name, number(name, attrs, "low")?, number(name, attrs, "high")?, true, None),
        "DiscreteUniformDistribution" => Distribution::float(name, number(name, attrs, "low")?, number(name, attrs, "high")?, false, Some(number(name, attrs, "q")?)),
        "IntUniformDistribution" => Distribution::int(name, integer(name, attrs, "low", None)?, integer(name, attrs, "high", None)?, false, integer(name, attrs, "step", Some(1))?),
        "IntLogUniformDistribution" => Distribution::int(name, integer(name, attrs, "low", None)?, integer(name, attrs, "high", None)?, true, 1),
        other => Err(fail(name, format!("unknown distribution `{other}` (expected FloatDistribution, IntDistribution or CategoricalDistribution)"))),
    }
}

impl serde::Serialize for Distribution {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        distribution_to_json(self).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Distribution {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        distribution_from_json("?", &value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MLP: &str = r#"{
        "lr": {"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.01, "log": true}},
        "batch_size": {"name": "CategoricalDistribution", "attributes": {"choices": [16, 32, 64]}},
        "hidden_size": {"name": "IntDistribution", "attributes": {"log": false, "step": 64, "low": 64, "high": 512}},
        "dropout": {"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.5, "log": false}}
    }"#;

    #[test]
    fn optuna_json_round_trips() {
        let space = parse_search_space(MLP).unwrap();
        assert_eq!(space.keys().collect::<Vec<_>>(), ["lr", "batch_size", "hidden_size", "dropout"]);
        assert_eq!(space["hidden_size"], Distribution::Int { low: 64, high: 512, log: false, step: 64 });
        let again = parse_search_space(&search_space_to_json(&space).to_string()).unwrap();
        assert_eq!(space, again);
    }

    #[test]
    fn bad_search_spaces_name_the_culprit() {
        let err = parse_search_space(r#"{"x": {"name": "NormalDistribution", "attributes": {}}}"#).unwrap_err().to_string();
        assert!(err.contains("`x`") && err.contains("unknown distribution `NormalDistribution`"), "{err}");
        let err = parse_search_space(r#"{"x": {"name": "FloatDistribution", "attributes": {"low": 2, "high": 1}}}"#).unwrap_err().to_string();
        assert!(err.contains("low=2 is greater than high=1"), "{err}");
        let err = parse_search_space(r#"{"c": {"name": "CategoricalDistribution", "attributes": {"choices": []}}}"#).unwrap_err().to_string();
        assert!(err.contains("`c`") && err.contains("empty"), "{err}");
        let err = parse_search_space(r#"{"n": {"name": "IntDistribution", "attributes": {"low": 1.5, "high": 3}}}"#).unwrap_err().to_string();
        assert!(err.contains("`low` must be an integer"), "{err}");
        assert!(parse_search_space("[1]").is_err());
        assert!(parse_search_space("{").unwrap_err().to_string().contains("not valid JSON"));
    }
}
