//! Scores and parameter values of finished trials, kept between asks. A finished trial never
//! changes, so each is read once per set of parameter names instead of once per ask. An entry is
//! used only while the study hands out the very same `Arc` for that trial number (the entry
//! holds a clone, so the pointer cannot be reused by another trial); anything else is re-read.
//! Per parameter, the rows are also kept sorted by value, so that estimators need no sort.

use super::Score;
use super::parzen::value_key;
use crate::tune::frozen::FrozenTrial;
use std::sync::{Arc, Mutex};

/// Above this many new rows the sorted lists are re-sorted whole instead of inserted into.
const MAX_INSERTED: usize = 16;

/// What TPE takes from one trial: its ranking score, if it is ranked, and the values of the
/// asked names, if it has all of them.
pub(super) type Read = (Option<Score>, Option<Box<[f64]>>);

/// The rows of one set of names, by trial number, in columns.
#[derive(Debug, Default)]
struct NamesTable {
    names: Vec<String>,
    /// The trial each row was read from; `None` where there is no row.
    trials: Vec<Option<Arc<FrozenTrial>>>,
    scores: Vec<Option<Score>>,
    /// Whether the row has every name's value, and the values (`names.len()` per row).
    has_values: Vec<bool>,
    values: Vec<f64>,
    /// Per name, the trial number of every row with values, sorted by (value key, number).
    by_value: Vec<Vec<u32>>,
    /// Rows added since `by_value` was brought up to date.
    added: Vec<u32>,
    /// Whether a row was replaced since (its old values are somewhere in `by_value`).
    replaced: bool,
}

/// Tables of one study, one per set of names (a univariate sampler asks per parameter).
#[derive(Debug, Default)]
struct Tables {
    study: String,
    by_names: Vec<NamesTable>,
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
        let i = match tables.by_names.iter().position(|t| t.names.iter().map(String::as_str).eq(names.iter().copied())) {
            Some(i) => i,
            None => {
                tables.by_names.push(NamesTable { names: names.iter().map(|n| (*n).to_owned()).collect(), ..NamesTable::default() });
                tables.by_names.len() - 1
            }
        };
        f(&mut RowTable { table: &mut tables.by_names[i] })
    }
}

pub(super) struct RowTable<'a> {
    table: &'a mut NamesTable,
}

impl RowTable<'_> {
    /// Whether the row of trial number `number` was read from this very `trial` (then there is
    /// no need to look into the trial: a finished trial, cached under its own number).
    #[inline]
    pub fn is_cached(&self, number: usize, trial: &Arc<FrozenTrial>) -> bool {
        matches!(self.table.trials.get(number), Some(Some(cached)) if Arc::ptr_eq(cached, trial))
    }

    /// The cached row of trial number `number`. Inlined: returned through memory, its two
    /// halves stall the 16-byte load that reads them back (a third of the walk's time).
    #[inline]
    pub fn row(&self, number: usize) -> (Option<Score>, Option<&[f64]>) {
        let width = self.table.names.len();
        (self.table.scores[number], self.table.has_values[number].then(|| &self.table.values[number * width..][..width]))
    }

    /// The row of finished `trial`, made by `read` when missing or stale.
    pub fn finished_row(&mut self, trial: &Arc<FrozenTrial>, read: impl FnOnce() -> Read) -> (Option<Score>, Option<&[f64]>) {
        let number = trial.number as usize;
        if !self.is_cached(number, trial) {
            let table = &mut *self.table;
            let width = table.names.len();
            if table.trials.len() <= number {
                table.trials.resize(number + 1, None);
                table.scores.resize(number + 1, None);
                table.has_values.resize(number + 1, false);
                table.values.resize((number + 1) * width, f64::NAN);
            }
            if table.trials[number].is_some() {
                table.replaced = true;
            } else {
                table.added.push(number as u32);
            }
            let (score, values) = read();
            table.trials[number] = Some(Arc::clone(trial));
            table.scores[number] = score;
            table.has_values[number] = values.is_some();
            if let Some(values) = values {
                table.values[number * width..][..width].copy_from_slice(&values);
            }
        }
        self.row(number)
    }

    /// Per name, the trial numbers of every cached row that has values, sorted by value (ties by
    /// trial number).
    pub fn sorted_by_value(&mut self) -> &[Vec<u32>] {
        let table = &mut *self.table;
        let width = table.names.len();
        if table.replaced || table.by_value.len() != width {
            table.by_value = vec![Vec::new(); width];
            table.added = (0..table.trials.len() as u32).collect();
            table.replaced = false;
        }
        let (has_values, values) = (&table.has_values, &table.values);
        for (d, sorted) in table.by_value.iter_mut().enumerate() {
            let key = |number: u32| (value_key(values[number as usize * width + d]), number);
            let added = table.added.iter().copied().filter(|&number| has_values[number as usize]);
            if table.added.len() > MAX_INSERTED {
                sorted.extend(added);
                sorted.sort_unstable_by_key(|&number| key(number));
            } else {
                for number in added {
                    let at = sorted.partition_point(|&other| key(other) < key(number));
                    sorted.insert(at, number);
                }
            }
        }
        table.added.clear();
        &table.by_value
    }
}
