//! What one ask learns from the study: the ranked trials (finished ones from the row cache, by
//! trial number; running ones under constant liar, read afresh), their split into a good and a
//! bad group, and each group's order by value. As in Optuna, the split is made on all ranked
//! trials; trials without every value are then left out of both groups.

use super::parzen::value_key;
use super::row_cache::Rows;
use std::sync::Arc;

/// Marks a group entry that is a running trial: the rest is its index in `Observations::running`.
const RUNNING: u32 = 1 << 31;

/// Marks a place in the good group (see `Places`).
const BELOW: u32 = 1 << 31;

pub(super) struct Observations {
    /// The finished trials' rows, by number.
    rows: Arc<Rows>,
    /// The study's trials are numbers 0..n (the rows may hold more: another study of that name).
    n: usize,
    /// Numbers below `n` whose row does not count, ascending: trials not finished now, and the
    /// one being sampled.
    skipped: Vec<u32>,
    /// Running trials ranked under constant liar that have every value, by number.
    running: Vec<(u32, Box<[f64]>)>,
    /// How many finished trials are ranked.
    pub n_finished: usize,
}

/// Each group entry's position in its group: by trial number for finished trials, by index for
/// running ones; `BELOW | position` in the good group, `position` in the bad one, `u32::MAX` in
/// neither.
pub(super) struct Places {
    of_number: Vec<u32>,
    of_running: Vec<u32>,
}

impl Observations {
    /// The study's trials 0..n: those with a row in `rows` but the `skipped` numbers (ascending),
    /// and the `running` ones ranked under constant liar that have every value (by number).
    pub fn new(rows: Arc<Rows>, n: usize, skipped: Vec<u32>, running: Vec<(u32, Box<[f64]>)>) -> Self {
        let listed = |list: &[u32]| list.iter().filter(|&&number| (number as usize) < n).count();
        let skipped_ranked = skipped.iter().filter(|&&number| rows.score(number as usize).is_some()).count();
        let n_finished = listed(rows.by_score()) - skipped_ranked;
        Observations { rows, n, skipped, running, n_finished }
    }

    /// Whether trial `number`'s row counts.
    fn counts(&self, number: u32) -> bool {
        (number as usize) < self.n && self.skipped.binary_search(&number).is_err()
    }

    /// The value of name `d` of a group entry.
    pub fn value(&self, entry: u32, d: usize) -> f64 {
        if entry & RUNNING != 0 { self.running[(entry & !RUNNING) as usize].1[d] } else { self.rows.value(entry as usize, d) }
    }

    /// The good group (the `gamma` best finished trials, COMPLETE ones by value first, then
    /// PRUNED ones by (deepest step, value there)) and the bad group (the other finished trials
    /// and the running ones), as entries in trial order, each with every value.
    pub fn split(&self, gamma: usize) -> (Vec<u32>, Vec<u32>) {
        let mut below: Vec<u32> = self.rows.by_score().iter().copied().filter(|&number| self.counts(number)).take(gamma.min(self.n_finished)).collect();
        let mut in_below = vec![false; self.n];
        below.iter().for_each(|&number| in_below[number as usize] = true);
        below.sort_unstable();
        below.retain(|&number| self.rows.has_values(number as usize));
        let mut above = Vec::with_capacity(self.n - below.len());
        let (mut skipped, mut running) = (self.skipped.iter().peekable(), self.running.iter().enumerate().peekable());
        for number in 0..self.n as u32 {
            if skipped.next_if_eq(&&number).is_some() {
                if let Some((i, _)) = running.next_if(|(_, (running_number, _))| *running_number == number) {
                    above.push(RUNNING | i as u32);
                }
            } else if !in_below[number as usize] && self.rows.score(number as usize).is_some() && self.rows.has_values(number as usize) {
                above.push(number);
            }
        }
        (below, above)
    }

    /// The rank in the good group of each of its entries (0 for the best), for `below` as
    /// `split` gives it (by trial number); ranks count only the entries in `below`.
    pub fn ranks(&self, below: &[u32]) -> Vec<usize> {
        let mut position = vec![usize::MAX; below.len()];
        let mut unseen = below.len();
        for (p, number) in self.rows.by_score().iter().enumerate() {
            if unseen == 0 {
                break;
            }
            if let Ok(i) = below.binary_search(number) {
                position[i] = p;
                unseen -= 1;
            }
        }
        let mut by_rank: Vec<usize> = (0..below.len()).collect();
        by_rank.sort_by_key(|&i| position[i]);
        let mut ranks = vec![0; below.len()];
        for (rank, i) in by_rank.into_iter().enumerate() {
            ranks[i] = rank;
        }
        ranks
    }

    /// Where each entry of the two groups sits in its group.
    pub fn places(&self, below: &[u32], above: &[u32]) -> Places {
        let mut places = Places { of_number: vec![u32::MAX; self.n], of_running: vec![u32::MAX; self.running.len()] };
        let groups = below.iter().enumerate().map(|(p, &entry)| (entry, BELOW | p as u32)).chain(above.iter().enumerate().map(|(p, &entry)| (entry, p as u32)));
        for (entry, place) in groups {
            if entry & RUNNING != 0 {
                places.of_running[(entry & !RUNNING) as usize] = place;
            } else {
                places.of_number[entry as usize] = place;
            }
        }
        places
    }

    /// Positions in the good and in the bad group of their values of name `d`, sorted by value
    /// (ties in any order): one walk over the rows' list by value, with the running trials
    /// merged in. Empty if the walk does not account for every entry (then the estimators sort).
    pub fn group_orders(&self, d: usize, places: &Places, n_below: usize, n_above: usize) -> (Vec<u32>, Vec<u32>) {
        let mut running: Vec<(u64, u32)> = (0..self.running.len()).filter(|&i| places.of_running[i] != u32::MAX).map(|i| (value_key(self.running[i].1[d]), i as u32)).collect();
        running.sort_unstable();
        let mut running = running.into_iter().peekable();
        let (mut below_order, mut above_order) = (Vec::with_capacity(n_below), Vec::with_capacity(n_above));
        let mut push = |place: u32| match place {
            u32::MAX => {}
            p if p & BELOW != 0 => below_order.push(p & !BELOW),
            p => above_order.push(p),
        };
        for &number in self.rows.by_value(d) {
            // Rows that do not count have no place (skipped numbers are placed as running).
            let Some(&place) = places.of_number.get(number as usize) else { continue };
            if running.peek().is_some() {
                let key = value_key(self.rows.value(number as usize, d));
                while let Some((_, i)) = running.next_if(|&(k, _)| k <= key) {
                    push(places.of_running[i as usize]);
                }
            }
            push(place);
        }
        running.for_each(|(_, i)| push(places.of_running[i as usize]));
        if below_order.len() == n_below && above_order.len() == n_above { (below_order, above_order) } else { (Vec::new(), Vec::new()) }
    }
}
