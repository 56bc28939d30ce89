//! Scores and parameter values of finished trials, kept between asks. A finished trial never
//! changes, so each is read once per set of parameter names instead of once per ask. An entry is
//! used only while the study hands out the very same `Arc` for that trial number (the entry
//! holds a clone, so the pointer cannot be reused by another trial); anything else is re-read.

use super::Score;
use crate::tune::frozen::FrozenTrial;
use std::sync::{Arc, Mutex};

/// What TPE takes from one trial: its ranking score, if it is ranked, and the values of the
/// asked names, if it has all of them.
#[derive(Debug)]
pub(super) struct Row {
    trial: Arc<FrozenTrial>,
    pub score: Option<Score>,
    pub values: Option<Box<[f64]>>,
}

/// Rows by trial number, one table per set of names (a univariate sampler asks per parameter).
#[derive(Debug, Default)]
struct Tables {
    study: String,
    by_names: Vec<(Vec<String>, Vec<Option<Row>>)>,
}

#[derive(Debug, Default)]
pub(super) struct RowCache {
    tables: Mutex<Tables>,
}

impl RowCache {
    /// Runs `f` with the row table of `names` in `study`; tables are dropped when the study changes.
    pub fn with_table<R>(&self, study: &str, names: &[&str], f: impl FnOnce(&mut RowTable<'_>) -> R) -> R {
        let mut tables = self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tables.study != study {
            *tables = Tables { study: study.to_owned(), by_names: Vec::new() };
        }
        let i = match tables.by_names.iter().position(|(n, _)| n.iter().map(String::as_str).eq(names.iter().copied())) {
            Some(i) => i,
            None => {
                tables.by_names.push((names.iter().map(|n| (*n).to_owned()).collect(), Vec::new()));
                tables.by_names.len() - 1
            }
        };
        f(&mut RowTable { rows: &mut tables.by_names[i].1 })
    }
}

pub(super) struct RowTable<'a> {
    rows: &'a mut Vec<Option<Row>>,
}

impl RowTable<'_> {
    /// The cached row of finished `trial`, made by `read` when missing or stale.
    pub fn finished_row(&mut self, trial: &Arc<FrozenTrial>, read: impl FnOnce() -> (Option<Score>, Option<Box<[f64]>>)) -> &Row {
        let slot = trial.number as usize;
        if self.rows.len() <= slot {
            self.rows.resize_with(slot + 1, || None);
        }
        let entry = &mut self.rows[slot];
        if !matches!(entry, Some(row) if Arc::ptr_eq(&row.trial, trial)) {
            let (score, values) = read();
            *entry = Some(Row { trial: Arc::clone(trial), score, values });
        }
        entry.as_ref().expect("filled above")
    }
}
