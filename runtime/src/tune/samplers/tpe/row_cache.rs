//! Scores and parameter values of finished trials, kept between asks. A finished trial never
//! changes, so each is read once per set of columns (a parameter name, and whether its values
//! are kept as logarithms, the estimators' domain) instead of once per ask. An entry is
//! used only while the study hands out the very same `Arc` for that trial number (the entry
//! holds a clone, so the pointer cannot be reused by another trial); anything else is re-read.
//! The rows are also kept sorted by score and, per parameter, by value, so that an ask needs
//! neither a sort nor a copy: it takes a shared handle on them (`Rows`), copied on write only
//! while an ask on another thread still holds it.

use super::Score;
use super::parzen::value_key;
use crate::tune::frozen::FrozenTrial;
use std::sync::{Arc, Mutex};

/// Above this many new rows the sorted lists are re-sorted whole instead of inserted into.
const MAX_INSERTED: usize = 16;

/// What TPE takes from one trial: its ranking score, if it is ranked, and the values of the
/// asked columns, if it has all of them.
pub(super) type Read = (Option<Score>, Option<Box<[f64]>>);

/// The rows of finished trials by trial number, in columns.
#[derive(Debug, Default, Clone)]
pub(super) struct Rows {
    width: usize,
    /// `None` where there is no row or the trial is not ranked.
    scores: Vec<Option<Score>>,
    /// Whether the row has every column's value, and the values (`width` per row).
    has_values: Vec<bool>,
    values: Vec<f64>,
    /// The trial number of every row with a score, sorted by (score, number).
    by_score: Vec<u32>,
    /// Per column, the trial number of every row with values, sorted by (value key, number).
    by_value: Vec<Vec<u32>>,
}

impl Rows {
    /// The score of trial `number`'s row, if it has a row and is ranked.
    pub fn score(&self, number: usize) -> Option<Score> {
        self.scores.get(number).copied().flatten()
    }

    /// Whether trial `number`'s row has every column's value.
    pub fn has_values(&self, number: usize) -> bool {
        self.has_values.get(number).copied().unwrap_or(false)
    }

    /// The value of column `d` in trial `number`'s row (one with values).
    pub fn value(&self, number: usize, d: usize) -> f64 {
        self.values[number * self.width + d]
    }

    /// Trial numbers of the ranked rows, best first (ties by number).
    pub fn by_score(&self) -> &[u32] {
        &self.by_score
    }

    /// Trial numbers of the rows with values, by value of column `d` (ties by number).
    pub fn by_value(&self, d: usize) -> &[u32] {
        &self.by_value[d]
    }

    fn score_key(&self, number: u32) -> (u64, u64, u32) {
        let Score(depth, loss) = self.scores[number as usize].expect("only ranked rows are listed by score");
        (value_key(depth), value_key(loss), number)
    }

    fn value_key(&self, number: u32, d: usize) -> (u64, u32) {
        (value_key(self.value(number as usize, d)), number)
    }

    /// Brings the sorted lists up to date with the rows `added` since (all of them if `all`).
    fn sort(&mut self, added: &[u32], all: bool) {
        if all {
            self.by_score.clear();
            self.by_value = vec![Vec::new(); self.width];
        }
        let scored: Vec<u32> = added.iter().copied().filter(|&number| self.scores[number as usize].is_some()).collect();
        let mut by_score = std::mem::take(&mut self.by_score);
        merge_sorted(&mut by_score, &scored, |number| self.score_key(number));
        self.by_score = by_score;
        let with_values: Vec<u32> = added.iter().copied().filter(|&number| self.has_values[number as usize]).collect();
        let mut by_value = std::mem::take(&mut self.by_value);
        for (d, sorted) in by_value.iter_mut().enumerate() {
            merge_sorted(sorted, &with_values, |number| self.value_key(number, d));
        }
        self.by_value = by_value;
    }
}

/// Adds `new` to `sorted` (sorted by `key`): one binary insertion each, or a sort of the whole
/// when there are many.
fn merge_sorted<K: Ord>(sorted: &mut Vec<u32>, new: &[u32], key: impl Fn(u32) -> K) {
    if new.len() > MAX_INSERTED {
        sorted.extend_from_slice(new);
        sorted.sort_unstable_by_key(|&number| key(number));
    } else {
        for &number in new {
            let at = sorted.partition_point(|&other| key(other) < key(number));
            sorted.insert(at, number);
        }
    }
}

/// The rows of one set of columns.
#[derive(Debug, Default)]
struct ColumnsTable {
    /// Parameter name, and whether its values are kept as logarithms.
    columns: Vec<(String, bool)>,
    /// The trial each row was read from; `None` where there is no row.
    trials: Vec<Option<Arc<FrozenTrial>>>,
    rows: Arc<Rows>,
    /// Rows added since the sorted lists were brought up to date.
    added: Vec<u32>,
    /// Whether a row was replaced since (its old entries are somewhere in the sorted lists).
    replaced: bool,
}

/// Tables of one study, one per set of columns (a univariate sampler asks per parameter).
#[derive(Debug, Default)]
struct Tables {
    study: String,
    by_columns: Vec<ColumnsTable>,
}

#[derive(Debug, Default)]
pub(super) struct RowCache {
    tables: Mutex<Tables>,
}

impl RowCache {
    /// Runs `f` with the row table of `columns` in `study`; tables are dropped when the study
    /// changes.
    pub fn with_table<R>(&self, study: &str, columns: &[(&str, bool)], f: impl FnOnce(&mut RowTable<'_>) -> R) -> R {
        let mut tables = self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tables.study != study {
            *tables = Tables { study: study.to_owned(), by_columns: Vec::new() };
        }
        let i = match tables.by_columns.iter().position(|t| t.columns.iter().map(|(name, log)| (name.as_str(), *log)).eq(columns.iter().copied())) {
            Some(i) => i,
            None => {
                let rows = Arc::new(Rows { width: columns.len(), by_value: vec![Vec::new(); columns.len()], ..Rows::default() });
                let columns = columns.iter().map(|&(name, log)| (name.to_owned(), log)).collect();
                tables.by_columns.push(ColumnsTable { columns, rows, ..ColumnsTable::default() });
                tables.by_columns.len() - 1
            }
        };
        f(&mut RowTable { table: &mut tables.by_columns[i] })
    }
}

pub(super) struct RowTable<'a> {
    table: &'a mut ColumnsTable,
}

impl RowTable<'_> {
    /// Whether the row of trial number `number` was read from this very `trial` (then there is
    /// no need to look into the trial: a finished trial, cached under its own number).
    #[inline]
    pub fn is_cached(&self, number: usize, trial: &Arc<FrozenTrial>) -> bool {
        matches!(self.table.trials.get(number), Some(Some(cached)) if Arc::ptr_eq(cached, trial))
    }

    /// Caches the row of finished `trial`, made by `read`, unless it is cached already.
    pub fn cache_finished(&mut self, trial: &Arc<FrozenTrial>, read: impl FnOnce() -> Read) {
        let number = trial.number as usize;
        if self.is_cached(number, trial) {
            return;
        }
        let table = &mut *self.table;
        let rows = Arc::make_mut(&mut table.rows);
        if table.trials.len() <= number {
            table.trials.resize(number + 1, None);
            rows.scores.resize(number + 1, None);
            rows.has_values.resize(number + 1, false);
            rows.values.resize((number + 1) * rows.width, f64::NAN);
        }
        if table.trials[number].is_some() {
            table.replaced = true;
        } else {
            table.added.push(number as u32);
        }
        let (score, values) = read();
        table.trials[number] = Some(Arc::clone(trial));
        rows.scores[number] = score;
        rows.has_values[number] = values.is_some();
        if let Some(values) = values {
            rows.values[number * rows.width..][..rows.width].copy_from_slice(&values);
        }
    }

    /// The rows, with their sorted lists up to date.
    pub fn rows(&mut self) -> Arc<Rows> {
        let table = &mut *self.table;
        if table.replaced {
            table.added = (0..table.trials.len() as u32).collect();
        }
        if !table.added.is_empty() {
            Arc::make_mut(&mut table.rows).sort(&table.added, table.replaced);
            table.added.clear();
            table.replaced = false;
        }
        Arc::clone(&table.rows)
    }
}
