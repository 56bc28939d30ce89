//! The handle an objective gets: `suggest_*` parameters, `report` intermediate values, ask
//! `should_prune`.

use super::distributions::{Distribution, ParamValue};
use super::error::TuneError;
use super::frozen::Param;
use super::pruners::PruneContext;
use super::samplers::SampleContext;
use super::search_space::SearchSpace;
use super::storage::Op;
use super::study::Study;
use super::trial_list::TrialList;
use indexmap::IndexMap;

/// A running trial of a [`Study`].
pub struct Trial<'s> {
    pub(crate) study: &'s Study,
    pub(crate) number: u64,
    /// Trials as they were when this one started: what samplers see (reproducible runs).
    pub(crate) history: TrialList,
    pub(crate) relative_space: SearchSpace,
    pub(crate) relative: IndexMap<String, f64>,
    /// Enqueued values (`Study::enqueue_trial`, retried trials).
    pub(crate) fixed: IndexMap<String, ParamValue>,
    pub(crate) params: IndexMap<String, Param>,
}

/// A type `suggest_categorical` can return: converts to and from [`ParamValue`].
pub trait Choice: Clone {
    fn to_param(&self) -> ParamValue;
}

macro_rules! choice {
    ($($t:ty),*) => {$(
        impl Choice for $t {
            fn to_param(&self) -> ParamValue { ParamValue::from(self.clone()) }
        }
    )*};
}
choice!(bool, i64, i32, u32, f64, f32, String, &str);
impl Choice for ParamValue {
    fn to_param(&self) -> ParamValue {
        self.clone()
    }
}

impl<'s> Trial<'s> {
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Parameters suggested so far, in order.
    pub fn params(&self) -> IndexMap<String, ParamValue> {
        self.params.iter().map(|(k, p)| (k.clone(), p.value.clone())).collect()
    }

    /// A float in [low, high].
    pub fn suggest_float(&mut self, name: &str, low: f64, high: f64) -> Result<f64, TuneError> {
        self.suggest_float_with(name, low, high, false, None)
    }

    /// A float in [low, high], drawn on a log scale.
    pub fn suggest_float_log(&mut self, name: &str, low: f64, high: f64) -> Result<f64, TuneError> {
        self.suggest_float_with(name, low, high, true, None)
    }

    /// A float in {low, low + step, …} ∩ [low, high].
    pub fn suggest_float_step(&mut self, name: &str, low: f64, high: f64, step: f64) -> Result<f64, TuneError> {
        self.suggest_float_with(name, low, high, false, Some(step))
    }

    /// A float with every option of Optuna's `suggest_float`.
    pub fn suggest_float_with(&mut self, name: &str, low: f64, high: f64, log: bool, step: Option<f64>) -> Result<f64, TuneError> {
        let dist = Distribution::float(name, low, high, log, step)?;
        Ok(self.suggest(name, &dist)?.as_f64().expect("float distribution gives floats"))
    }

    /// An integer in [low, high].
    pub fn suggest_int(&mut self, name: &str, low: i64, high: i64) -> Result<i64, TuneError> {
        self.suggest_int_with(name, low, high, false, 1)
    }

    /// An integer in {low, low + step, …} ∩ [low, high].
    pub fn suggest_int_step(&mut self, name: &str, low: i64, high: i64, step: i64) -> Result<i64, TuneError> {
        self.suggest_int_with(name, low, high, false, step)
    }

    /// An integer in [low, high] drawn on a log scale.
    pub fn suggest_int_log(&mut self, name: &str, low: i64, high: i64) -> Result<i64, TuneError> {
        self.suggest_int_with(name, low, high, true, 1)
    }

    /// An integer with every option of Optuna's `suggest_int`.
    pub fn suggest_int_with(&mut self, name: &str, low: i64, high: i64, log: bool, step: i64) -> Result<i64, TuneError> {
        let dist = Distribution::int(name, low, high, log, step)?;
        Ok(self.suggest(name, &dist)?.as_i64().expect("int distribution gives ints"))
    }

    /// One of `choices` (strings, ints, floats or bools).
    pub fn suggest_categorical<T: Choice>(&mut self, name: &str, choices: &[T]) -> Result<T, TuneError> {
        let dist = Distribution::categorical(name, choices.iter().map(Choice::to_param).collect())?;
        let value = self.suggest(name, &dist)?;
        let Distribution::Categorical { choices: params } = &dist else { unreachable!() };
        let idx = params.iter().position(|p| *p == value).expect("value comes from the choices");
        Ok(choices[idx].clone())
    }

    /// Suggests from any distribution: the same name again returns the same value; a different
    /// distribution for a name already used (in this or an earlier trial) is an error.
    pub fn suggest(&mut self, name: &str, dist: &Distribution) -> Result<ParamValue, TuneError> {
        if let Some(p) = self.params.get(name) {
            if p.distribution != *dist {
                return Err(TuneError::DistributionConflict { name: name.to_owned(), old: p.distribution.to_string(), new: dist.to_string() });
            }
            return Ok(p.value.clone());
        }
        if let Some(old) = self.history.iter().rev().filter(|t| t.number != self.number).find_map(|t| t.params.get(name))
            && !old.distribution.is_compatible(dist)
        {
            return Err(TuneError::DistributionConflict { name: name.to_owned(), old: old.distribution.to_string(), new: dist.to_string() });
        }
        let internal = self.choose(name, dist)?;
        let study = self.study;
        let (study_name, number) = (study.name().to_owned(), self.number);
        study.storage().transact(&mut |_| {
            Ok(vec![Op::SetParam { study: study_name.clone(), number, name: name.to_owned(), distribution: dist.clone(), value: internal }])
        })?;
        let value = dist.to_external(internal);
        self.params.insert(name.to_owned(), Param { distribution: dist.clone(), internal, value: value.clone() });
        Ok(value)
    }

    fn choose(&self, name: &str, dist: &Distribution) -> Result<f64, TuneError> {
        if let Some(value) = self.fixed.get(name) {
            return dist.to_internal(name, value);
        }
        if let (Some(&v), Some(rel_dist)) = (self.relative.get(name), self.relative_space.get(name)) {
            if rel_dist == dist {
                return Ok(v);
            }
            // A grid or a changed range: keep the joint value if it fits this distribution.
            if let Ok(v) = dist.to_internal(name, &rel_dist.to_external(v)) {
                return Ok(v);
            }
        }
        if dist.is_single() {
            return Ok(dist.snap(match *dist {
                Distribution::Float { low, .. } => low,
                Distribution::Int { low, .. } => low as f64,
                Distribution::Categorical { .. } => 0.0,
            }));
        }
        let ctx = SampleContext { study_name: self.study.name(), direction: self.study.direction(), trials: &self.history, number: self.number };
        Ok(dist.snap(self.study.sampler().sample_independent(&ctx, name, dist)))
    }

    /// Records an intermediate value (e.g. validation loss after an epoch). NaN is allowed and
    /// counts as the worst value.
    pub fn report(&mut self, value: f64, step: u64) -> Result<(), TuneError> {
        let (study_name, number) = (self.study.name().to_owned(), self.number);
        let value = (!value.is_nan()).then_some(value);
        self.study.storage().transact(&mut |_| Ok(vec![Op::Report { study: study_name.clone(), number, step, value }]))
    }

    /// Whether the pruner says this trial should stop after its latest report.
    pub fn should_prune(&mut self) -> Result<bool, TuneError> {
        let study = self.study;
        let trials = study.snapshot()?.trials;
        let me = trials.get(self.number as usize).cloned().ok_or_else(|| TuneError::NoSuchTrial { study: study.name().to_owned(), number: self.number })?;
        let ctx = PruneContext { study_name: study.name(), direction: study.direction(), trials: &trials };
        let decision = study.pruner().prune(&ctx, &me);
        if !decision.attrs.is_empty() {
            let (study_name, number) = (study.name().to_owned(), self.number);
            let ops: Vec<Op> = decision.attrs.iter().map(|(k, v)| Op::SetAttr { study: study_name.clone(), number, key: k.clone(), value: v.clone() }).collect();
            study.storage().transact(&mut |_| Ok(ops.clone()))?;
        }
        Ok(decision.prune)
    }
}
