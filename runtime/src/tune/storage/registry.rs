//! The operations that change studies and the in-memory registry they are applied to.

use crate::tune::distributions::{Distribution, ParamValue};
use crate::tune::error::TuneError;
use crate::tune::frozen::{Direction, FrozenTrial, Param, TrialState, Worker};
use crate::tune::trial_list::TrialList;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// One change, as it is also written to a journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    CreateStudy { study: String, direction: Direction },
    /// A new trial: RUNNING, or WAITING with `fixed` params (enqueued).
    CreateTrial {
        study: String,
        number: u64,
        state: TrialState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<Worker>,
        time: f64,
        #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
        fixed: IndexMap<String, ParamValue>,
    },
    /// A WAITING trial starts running.
    StartTrial {
        study: String,
        number: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<Worker>,
        time: f64,
    },
    SetParam { study: String, number: u64, name: String, distribution: Distribution, value: f64 },
    SetAttr { study: String, number: u64, key: String, value: serde_json::Value },
    /// `value: null` stands for NaN (JSON has no NaN).
    Report { study: String, number: u64, step: u64, value: Option<f64> },
    Finish {
        study: String,
        number: u64,
        state: TrialState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        time: f64,
    },
}

/// One study's trials.
#[derive(Debug, Clone)]
pub struct StudyState {
    pub direction: Direction,
    pub trials: TrialList,
    /// How many trials are WAITING, so that asks need not look for one when none is.
    n_waiting: usize,
}

impl StudyState {
    /// The oldest WAITING trial, if any.
    pub fn first_waiting(&self) -> Option<&FrozenTrial> {
        if self.n_waiting == 0 {
            return None;
        }
        self.trials.iter().map(AsRef::as_ref).find(|t| t.state == TrialState::Waiting)
    }
}

/// All studies of a storage, by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub studies: HashMap<String, StudyState>,
}

fn bad(message: String) -> TuneError {
    TuneError::InvalidSetting { name: "op", reason: message }
}

impl Registry {
    pub fn study(&self, name: &str) -> Option<&StudyState> {
        self.studies.get(name)
    }

    fn trial_mut(&mut self, study: &str, number: u64) -> Result<&mut FrozenTrial, TuneError> {
        let state = self.studies.get_mut(study).ok_or_else(|| TuneError::NoSuchStudy { study: study.to_owned(), storage: "this storage".into() })?;
        let trial = state.trials.get_mut(number as usize).ok_or_else(|| TuneError::NoSuchTrial { study: study.to_owned(), number })?;
        Ok(Arc::make_mut(trial))
    }

    fn running_trial(&mut self, study: &str, number: u64) -> Result<&mut FrozenTrial, TuneError> {
        let trial = self.trial_mut(study, number)?;
        if trial.state != TrialState::Running {
            return Err(TuneError::TrialFinished { study: study.to_owned(), number, state: trial.state.to_string() });
        }
        Ok(trial)
    }

    /// Checks `op` against the current state and applies it; on error nothing changes.
    pub fn apply(&mut self, op: &Op) -> Result<(), TuneError> {
        match op {
            Op::CreateStudy { study, direction } => {
                if let Some(existing) = self.studies.get(study) {
                    if existing.direction != *direction {
                        return Err(TuneError::DirectionMismatch { study: study.clone(), existing: existing.direction.to_string(), requested: direction.to_string() });
                    }
                    return Ok(());
                }
                self.studies.insert(study.clone(), StudyState { direction: *direction, trials: TrialList::default(), n_waiting: 0 });
            }
            Op::CreateTrial { study, number, state, worker, time, fixed } => {
                let st = self.studies.get_mut(study).ok_or_else(|| TuneError::NoSuchStudy { study: study.clone(), storage: "this storage".into() })?;
                if *number != st.trials.len() as u64 {
                    return Err(bad(format!("trial number {number} of study `{study}` is taken or skips numbers (next free is {})", st.trials.len())));
                }
                if !matches!(state, TrialState::Running | TrialState::Waiting) {
                    return Err(bad(format!("a new trial must be RUNNING or WAITING, not {state}")));
                }
                let mut system_attrs = serde_json::Map::new();
                if !fixed.is_empty() {
                    system_attrs.insert("fixed_params".into(), serde_json::to_value(fixed).unwrap_or_default());
                }
                st.trials.push(Arc::new(FrozenTrial { system_attrs, worker: worker.clone(), ..FrozenTrial::new(*number, *state, *time) }));
                st.n_waiting += usize::from(*state == TrialState::Waiting);
            }
            Op::StartTrial { study, number, worker, time } => {
                let trial = self.trial_mut(study, *number)?;
                if trial.state != TrialState::Waiting {
                    return Err(TuneError::TrialFinished { study: study.clone(), number: *number, state: trial.state.to_string() });
                }
                trial.state = TrialState::Running;
                trial.worker = worker.clone();
                trial.started_unix = *time;
                self.studies.get_mut(study).expect("the trial was found in it").n_waiting -= 1;
            }
            Op::SetParam { study, number, name, distribution, value } => {
                let trial = self.running_trial(study, *number)?;
                if !distribution.contains(*value) {
                    return Err(TuneError::ValueOutOfRange { name: name.clone(), value: value.to_string(), distribution: distribution.to_string() });
                }
                if let Some(old) = trial.params.get(name) {
                    if old.distribution != *distribution {
                        return Err(TuneError::DistributionConflict { name: name.clone(), old: old.distribution.to_string(), new: distribution.to_string() });
                    }
                    return Ok(());
                }
                let external = distribution.to_external(*value);
                trial.params.insert(name.clone(), Param { distribution: distribution.clone(), internal: *value, value: external });
            }
            Op::SetAttr { study, number, key, value } => {
                self.trial_mut(study, *number)?.system_attrs.insert(key.clone(), value.clone());
            }
            Op::Report { study, number, step, value } => {
                self.running_trial(study, *number)?.intermediate_values.insert(*step, value.unwrap_or(f64::NAN));
            }
            Op::Finish { study, number, state, value, message, time } => {
                if !state.is_finished() {
                    return Err(bad(format!("a trial cannot finish as {state}")));
                }
                if *state == TrialState::Complete && !value.is_some_and(f64::is_finite) {
                    return Err(TuneError::NonFiniteValue { number: *number, value: value.unwrap_or(f64::NAN) });
                }
                let trial = self.running_trial(study, *number)?;
                trial.state = *state;
                trial.value = if *state == TrialState::Complete { *value } else { None };
                trial.message = message.clone();
                trial.completed_unix = Some(*time);
            }
        }
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(reg: &mut Registry) {
        reg.apply(&Op::CreateStudy { study: "s".into(), direction: Direction::Minimize }).unwrap();
        reg.apply(&Op::CreateTrial { study: "s".into(), number: 0, state: TrialState::Running, worker: None, time: 0.0, fixed: IndexMap::new() }).unwrap();
    }

    #[test]
    fn ops_are_validated() {
        let mut reg = Registry::default();
        create(&mut reg);
        let dup = Op::CreateTrial { study: "s".into(), number: 0, state: TrialState::Running, worker: None, time: 0.0, fixed: IndexMap::new() };
        assert!(reg.apply(&dup).unwrap_err().to_string().contains("taken"));
        let nan = Op::Finish { study: "s".into(), number: 0, state: TrialState::Complete, value: Some(f64::NAN), message: None, time: 1.0 };
        assert!(reg.apply(&nan).unwrap_err().to_string().contains("finite"));
        let ok = Op::Finish { study: "s".into(), number: 0, state: TrialState::Complete, value: Some(1.0), message: None, time: 1.0 };
        reg.apply(&ok).unwrap();
        assert!(reg.apply(&ok).unwrap_err().to_string().contains("COMPLETE"));
        let mismatch = Op::CreateStudy { study: "s".into(), direction: Direction::Maximize };
        assert!(reg.apply(&mismatch).is_err());
    }

    #[test]
    fn waiting_trials_are_found_oldest_first_until_none_is_left() {
        let mut reg = Registry::default();
        create(&mut reg);
        for number in 1..=2 {
            reg.apply(&Op::CreateTrial { study: "s".into(), number, state: TrialState::Waiting, worker: None, time: 0.0, fixed: IndexMap::new() }).unwrap();
        }
        for number in 1..=2 {
            assert_eq!(reg.study("s").unwrap().first_waiting().map(|t| t.number), Some(number));
            reg.apply(&Op::StartTrial { study: "s".into(), number, worker: None, time: 1.0 }).unwrap();
        }
        assert!(reg.study("s").unwrap().first_waiting().is_none());
        // Starting a trial that is not waiting fails and leaves the count alone.
        assert!(reg.apply(&Op::StartTrial { study: "s".into(), number: 1, worker: None, time: 2.0 }).is_err());
        reg.apply(&Op::CreateTrial { study: "s".into(), number: 3, state: TrialState::Waiting, worker: None, time: 0.0, fixed: IndexMap::new() }).unwrap();
        assert_eq!(reg.study("s").unwrap().first_waiting().map(|t| t.number), Some(3));
    }

    #[test]
    fn ops_round_trip_through_json() {
        let op = Op::Report { study: "s".into(), number: 3, step: 2, value: None };
        let line = serde_json::to_string(&op).unwrap();
        assert_eq!(line, r#"{"op":"report","study":"s","number":3,"step":2,"value":null}"#);
        assert_eq!(serde_json::from_str::<Op>(&line).unwrap(), op);
    }
}
