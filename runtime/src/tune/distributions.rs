//! Parameter distributions (float, int, categorical) and the values they produce.
//!
//! Samplers work on an *internal* f64: the value itself for numbers, the choice index for
//! categoricals (as Optuna does), and convert back with [`Distribution::to_external`].

use super::error::TuneError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A parameter value as the objective sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl ParamValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(v) => Some(*v as f64),
            ParamValue::Float(v) => Some(*v),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParamValue::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            ParamValue::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Str(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! param_value_from {
    ($($t:ty => $variant:ident($conv:expr)),* $(,)?) => {$(
        impl From<$t> for ParamValue {
            fn from(v: $t) -> Self { ParamValue::$variant($conv(v)) }
        }
    )*};
}
param_value_from!(bool => Bool(|v| v), i64 => Int(|v| v), i32 => Int(i64::from), u32 => Int(i64::from),
    f64 => Float(|v| v), f32 => Float(f64::from), String => Str(|v| v), &str => Str(str::to_owned));

/// A search range for one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Float { low: f64, high: f64, log: bool, step: Option<f64> },
    Int { low: i64, high: i64, log: bool, step: i64 },
    Categorical { choices: Vec<ParamValue> },
}

fn invalid(name: &str, reason: String) -> TuneError {
    TuneError::InvalidDistribution { name: name.to_owned(), reason }
}

impl Distribution {
    /// A checked float range; with a step, `high` is lowered onto the grid as Optuna does.
    pub fn float(name: &str, low: f64, high: f64, log: bool, step: Option<f64>) -> Result<Self, TuneError> {
        if !low.is_finite() || !high.is_finite() {
            return Err(invalid(name, format!("bounds must be finite, got low={low}, high={high}")));
        }
        if low > high {
            return Err(invalid(name, format!("low={low} is greater than high={high}")));
        }
        if log && low <= 0.0 {
            return Err(invalid(name, format!("log=true needs low > 0, got low={low}")));
        }
        let high = match step {
            Some(step) if log => return Err(invalid(name, format!("step={step} cannot be combined with log=true"))),
            Some(step) if !(step > 0.0 && step.is_finite()) => {
                return Err(invalid(name, format!("step must be a positive number, got {step}")));
            }
            Some(step) => low + ((high - low) / step + 1e-9).floor() * step,
            None => high,
        };
        Ok(Distribution::Float { low, high, log, step })
    }

    /// A checked integer range; `high` is lowered onto the step grid.
    pub fn int(name: &str, low: i64, high: i64, log: bool, step: i64) -> Result<Self, TuneError> {
        if low > high {
            return Err(invalid(name, format!("low={low} is greater than high={high}")));
        }
        if step < 1 {
            return Err(invalid(name, format!("step must be at least 1, got {step}")));
        }
        if log && low < 1 {
            return Err(invalid(name, format!("log=true needs low >= 1, got low={low}")));
        }
        if log && step != 1 {
            return Err(invalid(name, format!("step={step} cannot be combined with log=true")));
        }
        let high = low + (high - low) / step * step;
        Ok(Distribution::Int { low, high, log, step })
    }

    /// A checked list of choices (non-empty, no NaN, no duplicates).
    pub fn categorical(name: &str, choices: Vec<ParamValue>) -> Result<Self, TuneError> {
        if choices.is_empty() {
            return Err(invalid(name, "categorical choices are empty".into()));
        }
        if choices.iter().any(|c| matches!(c, ParamValue::Float(v) if v.is_nan())) {
            return Err(invalid(name, "categorical choices contain NaN".into()));
        }
        for (i, c) in choices.iter().enumerate() {
            if choices[..i].contains(c) {
                return Err(invalid(name, format!("categorical choice {c} appears twice")));
            }
        }
        Ok(Distribution::Categorical { choices })
    }

    /// The internal f64 of an external value, or an error if it is not in this distribution.
    pub fn to_internal(&self, name: &str, value: &ParamValue) -> Result<f64, TuneError> {
        let internal = match (self, value) {
            (Distribution::Categorical { choices }, v) => choices.iter().position(|c| c == v).map(|i| i as f64),
            (Distribution::Int { .. }, ParamValue::Int(v)) => Some(*v as f64),
            (Distribution::Float { .. }, v) => v.as_f64(),
            _ => None,
        };
        match internal {
            Some(x) if self.contains(x) => Ok(x),
            _ => Err(TuneError::ValueOutOfRange { name: name.to_owned(), value: value.to_string(), distribution: self.to_string() }),
        }
    }

    /// The value the objective sees for an internal f64 (snapped onto the grid and clipped).
    pub fn to_external(&self, internal: f64) -> ParamValue {
        match self {
            Distribution::Float { .. } => ParamValue::Float(self.snap(internal)),
            Distribution::Int { .. } => ParamValue::Int(self.snap(internal) as i64),
            Distribution::Categorical { choices } => choices[(internal.round().max(0.0) as usize).min(choices.len() - 1)].clone(),
        }
    }

    /// Moves an internal value onto the distribution's grid and into its bounds.
    pub fn snap(&self, x: f64) -> f64 {
        match *self {
            Distribution::Float { low, high, step: Some(step), .. } => (low + ((x - low) / step).round() * step).clamp(low, high),
            Distribution::Float { low, high, .. } => x.clamp(low, high),
            Distribution::Int { low, high, step, .. } => {
                let (low, high, step) = (low as f64, high as f64, step as f64);
                (low + ((x - low) / step).round() * step).clamp(low, high)
            }
            Distribution::Categorical { ref choices } => x.round().clamp(0.0, (choices.len() - 1) as f64),
        }
    }

    /// Whether an internal value belongs to this distribution.
    pub fn contains(&self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        match *self {
            Distribution::Float { low, high, step, .. } => {
                x >= low && x <= high && step.is_none_or(|s| (((x - low) / s) - ((x - low) / s).round()).abs() < 1e-8)
            }
            Distribution::Int { low, high, step, .. } => {
                x.fract() == 0.0 && x >= low as f64 && x <= high as f64 && (x as i64 - low) % step == 0
            }
            Distribution::Categorical { ref choices } => x.fract() == 0.0 && x >= 0.0 && (x as usize) < choices.len(),
        }
    }

    /// Whether a later trial may use `other` for the same name: same kind, same log scale, and
    /// for categoricals the same choices (ranges of numbers may change between trials).
    pub fn is_compatible(&self, other: &Distribution) -> bool {
        match (self, other) {
            (Distribution::Float { log: a, .. }, Distribution::Float { log: b, .. }) => a == b,
            (Distribution::Int { log: a, .. }, Distribution::Int { log: b, .. }) => a == b,
            (Distribution::Categorical { choices: a }, Distribution::Categorical { choices: b }) => a == b,
            _ => false,
        }
    }

    /// Whether the distribution is sampled on a log scale.
    pub fn is_log(&self) -> bool {
        matches!(*self, Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. })
    }

    /// Whether the distribution has a single possible value.
    pub fn is_single(&self) -> bool {
        match *self {
            Distribution::Float { low, high, .. } => low == high,
            Distribution::Int { low, high, .. } => low == high,
            Distribution::Categorical { ref choices } => choices.len() == 1,
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Float { low, high, log, step } => match step {
                Some(s) => write!(f, "FloatDistribution(low={low}, high={high}, log={log}, step={s})"),
                None => write!(f, "FloatDistribution(low={low}, high={high}, log={log}, step=None)"),
            },
            Distribution::Int { low, high, log, step } => write!(f, "IntDistribution(low={low}, high={high}, log={log}, step={step})"),
            Distribution::Categorical { choices } => {
                let shown: Vec<String> = choices.iter().map(ToString::to_string).collect();
                write!(f, "CategoricalDistribution(choices=[{}])", shown.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ranges_are_rejected_with_the_name() {
        let err = Distribution::float("lr", 1.0, 0.5, false, None).unwrap_err().to_string();
        assert!(err.contains("`lr`") && err.contains("low=1 is greater than high=0.5"), "{err}");
        assert!(Distribution::float("lr", 0.0, 1.0, true, None).unwrap_err().to_string().contains("log=true"));
        assert!(Distribution::float("x", 0.0, 1.0, false, Some(0.0)).is_err());
        assert!(Distribution::float("x", f64::NAN, 1.0, false, None).is_err());
        assert!(Distribution::int("n", 5, 4, false, 1).is_err());
        assert!(Distribution::int("n", 0, 4, true, 1).is_err());
        assert!(Distribution::int("n", 1, 4, false, 0).is_err());
        let err = Distribution::categorical("opt", vec![]).unwrap_err().to_string();
        assert!(err.contains("`opt`") && err.contains("empty"), "{err}");
        assert!(Distribution::categorical("opt", vec!["a".into(), "a".into()]).is_err());
    }

    #[test]
    fn high_is_lowered_onto_the_step_grid() {
        assert_eq!(Distribution::int("h", 64, 500, false, 64).unwrap(), Distribution::Int { low: 64, high: 448, log: false, step: 64 });
        let Distribution::Float { high, .. } = Distribution::float("x", 0.0, 1.05, false, Some(0.1)).unwrap() else { panic!() };
        assert!((high - 1.0).abs() < 1e-12);
    }

    #[test]
    fn internal_round_trip() {
        let cat = Distribution::categorical("c", vec![16.into(), 32.into(), 64.into()]).unwrap();
        assert_eq!(cat.to_internal("c", &ParamValue::Int(32)).unwrap(), 1.0);
        assert_eq!(cat.to_external(2.0), ParamValue::Int(64));
        assert!(cat.to_internal("c", &ParamValue::Int(33)).is_err());
        let int = Distribution::int("h", 64, 512, false, 64).unwrap();
        assert_eq!(int.to_external(100.0), ParamValue::Int(128));
        assert!(int.contains(320.0) && !int.contains(321.0));
    }
}
