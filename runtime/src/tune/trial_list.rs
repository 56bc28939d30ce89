//! A study's trials in number order, shared in chunks. Every ask takes a copy of the whole list
//! (the sampler's view of the study); copying chunk handles instead of one reference per trial
//! makes that copy, and dropping it, cost 1/`CHUNK` of a per-trial copy. Changing a trial copies
//! only its chunk, and only while a copy of the list still shares it.

use super::frozen::FrozenTrial;
use std::sync::Arc;

/// Trials per shared chunk.
const CHUNK: usize = 32;

#[derive(Debug, Clone, Default)]
pub struct TrialList {
    /// Full chunks of `CHUNK` trials, then at most one partly filled.
    chunks: Vec<Arc<Vec<Arc<FrozenTrial>>>>,
}

impl TrialList {
    pub fn len(&self) -> usize {
        self.chunks.last().map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Trial `number`, if the list has it.
    pub fn get(&self, number: usize) -> Option<&Arc<FrozenTrial>> {
        self.chunks.get(number / CHUNK).and_then(|chunk| chunk.get(number % CHUNK))
    }

    /// The newest trial.
    pub fn last(&self) -> Option<&Arc<FrozenTrial>> {
        self.chunks.last().and_then(|chunk| chunk.last())
    }

    /// The trials in number order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<FrozenTrial>> + Clone {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }

    pub fn push(&mut self, trial: Arc<FrozenTrial>) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => Arc::make_mut(chunk).push(trial),
            _ => self.chunks.push(Arc::new(vec![trial])),
        }
    }

    /// Trial `number` for changing it (its chunk is copied first if a copy of the list shares it).
    pub fn get_mut(&mut self, number: usize) -> Option<&mut Arc<FrozenTrial>> {
        self.chunks.get_mut(number / CHUNK).and_then(|chunk| Arc::make_mut(chunk).get_mut(number % CHUNK))
    }
}

impl std::ops::Index<usize> for TrialList {
    type Output = Arc<FrozenTrial>;

    fn index(&self, number: usize) -> &Arc<FrozenTrial> {
        self.get(number).unwrap_or_else(|| panic!("trial {number} is not in a list of {}", self.len()))
    }
}

impl FromIterator<Arc<FrozenTrial>> for TrialList {
    fn from_iter<I: IntoIterator<Item = Arc<FrozenTrial>>>(trials: I) -> Self {
        let mut list = TrialList::default();
        trials.into_iter().for_each(|t| list.push(t));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::frozen::TrialState;

    fn trial(number: u64) -> Arc<FrozenTrial> {
        Arc::new(FrozenTrial::new(number, TrialState::Running, 0.0))
    }

    #[test]
    fn indexes_and_iterates_across_chunks() {
        let list: TrialList = (0..3 * CHUNK as u64 + 5).map(trial).collect();
        assert_eq!(list.len(), 3 * CHUNK + 5);
        assert!(list.iter().map(|t| t.number).eq(0..3 * CHUNK as u64 + 5));
        assert!(list.iter().rev().map(|t| t.number).eq((0..3 * CHUNK as u64 + 5).rev()));
        assert_eq!(list[CHUNK].number, CHUNK as u64);
        assert!(list.get(3 * CHUNK + 5).is_none());
    }

    #[test]
    fn a_copy_keeps_its_view_while_the_original_changes() {
        let n = 2 * CHUNK as u64 + 2;
        let mut list: TrialList = (0..n).map(trial).collect();
        let copy = list.clone();
        Arc::make_mut(list.get_mut(1).unwrap()).state = TrialState::Complete;
        list.push(trial(n));
        assert_eq!((copy[1].state, list[1].state), (TrialState::Running, TrialState::Complete));
        assert_eq!((copy.len(), list.len()), (n as usize, n as usize + 1));
        // Only the changed chunks were copied; the middle one is still shared.
        assert!(!Arc::ptr_eq(&copy.chunks[0], &list.chunks[0]) && !Arc::ptr_eq(&copy.chunks[2], &list.chunks[2]));
        assert!(Arc::ptr_eq(&copy.chunks[1], &list.chunks[1]));
    }
}
