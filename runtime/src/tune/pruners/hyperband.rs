//! Optuna's HyperbandPruner: brackets of asynchronous successive halving. A trial's bracket is
//! `crc32("{study}_{number}") mod Σ budgets`, walked through the bracket budgets; bracket k
//! first judges a trial at step `min_resource · η^k` and keeps the top 1/η of each rung. Where
//! the hindsight check (`hindsight.rs`) finds a rung unsafe, it stops only the bottom 1/η that
//! are also worse there than every protected trial.

use super::hindsight::{DEFAULT_PROTECT_BEST, best_finished};
use super::{PruneContext, PruneDecision, Pruner};
use crate::tune::error::TuneError;
use crate::tune::frozen::{Direction, FrozenTrial};
use crate::tune::trial_list::TrialList;
use std::sync::Mutex;

/// CRC-32 (IEEE, as Python's `zlib.crc32`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Asynchronous successive halving (one Hyperband bracket).
#[derive(Debug, Clone)]
pub struct SuccessiveHalving {
    pub min_resource: u64,
    pub reduction_factor: u64,
    pub min_early_stopping_rate: u32,
}

fn rung_key(rung: u32) -> String {
    format!("completed_rung_{rung}")
}

/// Whether `value` is among the top 1/η of `others` and itself (at least the best is kept).
fn in_top_fraction(direction: Direction, reduction_factor: u64, others: impl Iterator<Item = f64>, value: f64) -> bool {
    let mut competing: Vec<f64> = others.chain([value]).collect();
    competing.sort_by(f64::total_cmp);
    if direction == Direction::Maximize {
        competing.reverse();
    }
    let promotable = (competing.len() / reduction_factor as usize).max(1) - 1;
    match direction {
        Direction::Minimize => value <= competing[promotable],
        Direction::Maximize => value >= competing[promotable],
    }
}

/// Whether `value` is among the bottom 1/η of `others` and itself: fewer than ⌊n/η⌋ of the
/// others are worse.
fn in_bottom_fraction(direction: Direction, reduction_factor: u64, others: impl Iterator<Item = f64>, value: f64) -> bool {
    let (mut n, mut worse) = (1, 0);
    for other in others {
        n += 1;
        worse += usize::from(direction.better(value, other));
    }
    (worse + 1) * reduction_factor as usize <= n
}

impl SuccessiveHalving {
    /// The decision for `trial` among `peers` (the trials of its bracket). At a rung where one of
    /// the `protect_best` best COMPLETE trials of `study` would not have been kept, only a trial
    /// in the bottom 1/η that is worse than all of them at the rung is pruned.
    pub fn judge(&self, direction: Direction, peers: &[&FrozenTrial], trial: &FrozenTrial, study: &TrialList, protect_best: usize) -> PruneDecision {
        let Some((step, value)) = trial.last_step() else { return PruneDecision::keep() };
        let mut rung = (0..).find(|r| !trial.system_attrs.contains_key(&rung_key(*r))).unwrap_or(0);
        let mut decision = PruneDecision::keep();
        loop {
            let promotion_step = self.min_resource.saturating_mul(self.reduction_factor.saturating_pow(self.min_early_stopping_rate + rung));
            if step < promotion_step {
                return decision;
            }
            if value.is_nan() {
                decision.prune = true;
                return decision;
            }
            let key = rung_key(rung);
            decision.attrs.push((key.clone(), serde_json::json!(value)));
            // The rung's values without trials `skip` (the judged one, or a protected one).
            let rung_values = |skip: [u64; 2]| peers.iter().filter(move |t| !skip.contains(&t.number)).filter_map(|t| t.system_attrs.get(&key)?.as_f64());
            let kept = |v: f64, also_skip: u64| in_top_fraction(direction, self.reduction_factor, rung_values([trial.number, also_skip]).chain([value]), v);
            // The top 1/η survive; the study's best finished trials are looked up only for the rest.
            let survives = in_top_fraction(direction, self.reduction_factor, rung_values([trial.number; 2]), value) || {
                let protected = best_finished(study, direction, promotion_step, protect_best);
                // A protected trial's value at this rung: its first report at or after the step.
                let at_rung = |t: &FrozenTrial| t.intermediate_values.range(promotion_step..).next().map(|(_, v)| *v);
                // Where keeping the top 1/η would cut a trial that went on to finish among the
                // best, only a trial both in the bottom 1/η and worse than every protected trial
                // was here is stopped.
                protected.iter().any(|t| at_rung(t).is_some_and(|v| !kept(v, t.number)))
                    && (!in_bottom_fraction(direction, self.reduction_factor, rung_values([trial.number; 2]), value)
                        || protected.iter().any(|t| at_rung(t).is_none_or(|v| !direction.better(v, value))))
            };
            if !survives {
                decision.prune = true;
                return decision;
            }
            rung += 1;
        }
    }
}

/// Hyperband over `n_brackets = ⌊log_η(max/min)⌋ + 1` successive-halving brackets.
#[derive(Debug)]
pub struct HyperbandPruner {
    pub min_resource: u64,
    pub max_resource: u64,
    pub reduction_factor: u64,
    /// At a rung where one of this many best finished trials of the study would not have been
    /// kept, prune only the bottom 1/η that are worse there than all of them; 0 is Optuna's rule.
    pub protect_best: usize,
    brackets: Vec<SuccessiveHalving>,
    budgets: Vec<u64>,
    /// Bracket of each trial number of the last study seen (a CRC per trial per step is slow).
    memo: Mutex<(String, Vec<usize>)>,
}

impl Clone for HyperbandPruner {
    fn clone(&self) -> Self {
        HyperbandPruner { brackets: self.brackets.clone(), budgets: self.budgets.clone(), memo: Mutex::new((String::new(), Vec::new())), ..*self }
    }
}

impl HyperbandPruner {
    /// `brackets`: `None` for Optuna's count, or fewer (the most aggressive ones are dropped last).
    /// The 5 best finished trials are protected (`protect_best`; set 0 for Optuna's rule).
    pub fn new(min_resource: u64, max_resource: u64, reduction_factor: u64, brackets: Option<usize>) -> Result<Self, TuneError> {
        if min_resource == 0 {
            return Err(TuneError::InvalidSetting { name: "min_resource", reason: "must be at least 1".into() });
        }
        if max_resource < min_resource {
            return Err(TuneError::InvalidSetting { name: "max_resource", reason: format!("{max_resource} is below min_resource={min_resource}") });
        }
        if reduction_factor < 2 {
            return Err(TuneError::InvalidSetting { name: "reduction_factor", reason: format!("must be at least 2, got {reduction_factor}") });
        }
        let mut full = 1;
        let mut r = min_resource;
        while r.saturating_mul(reduction_factor) <= max_resource {
            r *= reduction_factor;
            full += 1;
        }
        let n = match brackets {
            None => full,
            Some(0) => return Err(TuneError::InvalidSetting { name: "brackets", reason: "must be at least 1".into() }),
            Some(n) if n > full => return Err(TuneError::InvalidSetting { name: "brackets", reason: format!("{n} is more than the {full} the resources allow") }),
            Some(n) => n,
        };
        let brackets = (0..n).map(|k| SuccessiveHalving { min_resource, reduction_factor, min_early_stopping_rate: k as u32 }).collect();
        let budgets = (0..n)
            .map(|k| {
                let s = (n - 1 - k) as u32;
                (n as u64 * reduction_factor.pow(s)).div_ceil(u64::from(s) + 1)
            })
            .collect();
        Ok(HyperbandPruner {
            min_resource,
            max_resource,
            reduction_factor,
            protect_best: DEFAULT_PROTECT_BEST,
            brackets,
            budgets,
            memo: Mutex::new((String::new(), Vec::new())),
        })
    }

    pub fn n_brackets(&self) -> usize {
        self.brackets.len()
    }

    /// Trials per bracket in one Hyperband round (27, 12, 6, 4 for 1/27/3).
    pub fn budgets(&self) -> &[u64] {
        &self.budgets
    }

    /// The bracket of trial `number` in study `study_name`.
    pub fn bracket(&self, study_name: &str, number: u64) -> usize {
        let total: u64 = self.budgets.iter().sum();
        let mut n = u64::from(crc32(format!("{study_name}_{number}").as_bytes())) % total;
        for (k, budget) in self.budgets.iter().enumerate() {
            if n < *budget {
                return k;
            }
            n -= budget;
        }
        self.budgets.len() - 1
    }

    /// The brackets of trials `0..upto` of `study_name`, memoised: a trial's bracket never
    /// changes, and hashing every trial's name on every call would cost more than sampling.
    fn brackets_upto(&self, study_name: &str, upto: usize) -> Vec<usize> {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.0 != study_name {
            *memo = (study_name.to_owned(), Vec::new());
        }
        for n in memo.1.len()..upto {
            let b = self.bracket(study_name, n as u64);
            memo.1.push(b);
        }
        memo.1[..upto].to_vec()
    }
}

impl Pruner for HyperbandPruner {
    fn prune(&self, ctx: &PruneContext<'_>, trial: &FrozenTrial) -> PruneDecision {
        let brackets = self.brackets_upto(ctx.study_name, ctx.trials.len().max(trial.number as usize + 1));
        let k = brackets[trial.number as usize];
        let peers: Vec<&FrozenTrial> = ctx.trials.iter().map(AsRef::as_ref).filter(|t| brackets[t.number as usize] == k).collect();
        self.brackets[k].judge(ctx.direction, &peers, trial, ctx.trials, self.protect_best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn brackets_and_budgets_follow_optuna() {
        let hb = HyperbandPruner::new(1, 27, 3, None).unwrap();
        assert_eq!(hb.n_brackets(), 4);
        assert_eq!(hb.budgets(), &[27, 12, 6, 4]);
        // crc32("study_0") % 49 = 0xC0A4C54E % 49 → walk the budgets.
        let expected = |name: &str, n: u64| {
            let mut v = u64::from(crc32(format!("{name}_{n}").as_bytes())) % 49;
            let mut k = 0;
            for b in [27u64, 12, 6, 4] {
                if v < b {
                    break;
                }
                v -= b;
                k += 1;
            }
            k
        };
        let counts = (0..4900).fold([0usize; 4], |mut c, n| {
            let k = hb.bracket("prune-tpe-hyperband-0", n);
            assert_eq!(k, expected("prune-tpe-hyperband-0", n));
            c[k] += 1;
            c
        });
        // Shares near 27/49, 12/49, 6/49, 4/49.
        for (count, budget) in counts.iter().zip([27.0, 12.0, 6.0, 4.0]) {
            assert!(((*count as f64 / 4900.0) - budget / 49.0).abs() < 0.03, "{counts:?}");
        }
        assert!(HyperbandPruner::new(1, 27, 1, None).is_err());
        assert_eq!(HyperbandPruner::new(1, 81, 3, None).unwrap().n_brackets(), 5);
    }
}
