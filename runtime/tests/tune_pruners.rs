//! Pruners: Hyperband bracket assignment (against Python's zlib.crc32), successive-halving
//! promotion, the median rule, the hindsight check, and pruning inside a study.

use kfp_runtime::tune::pruners::SuccessiveHalving;
use kfp_runtime::tune::*;
use std::sync::Arc;

fn trial(number: u64, state: TrialState, curve: &[f64]) -> FrozenTrial {
    FrozenTrial {
        value: (state == TrialState::Complete).then(|| *curve.last().unwrap()),
        intermediate_values: curve.iter().enumerate().map(|(i, v)| (i as u64 + 1, *v)).collect(),
        ..FrozenTrial::new(number, state, 0.0)
    }
}

/// `n` finished trials 0..n that reached rung 0 (step 1) with values 1..=n.
fn rung_0_peers(n: u64) -> Vec<FrozenTrial> {
    (0..n)
        .map(|i| {
            let mut t = trial(i, TrialState::Complete, &[i as f64 + 1.0]);
            t.system_attrs.insert("completed_rung_0".into(), serde_json::json!(i as f64 + 1.0));
            t
        })
        .collect()
}

#[test]
fn hyperband_brackets_match_optuna() {
    // Expected from Python: crc32(f"{study}_{n}") % 49 walked through budgets [27, 12, 6, 4].
    let hb = HyperbandPruner::new(1, 27, 3, None).unwrap();
    let got: Vec<usize> = (0..20).map(|n| hb.bracket("prune-tpe_default-hyperband-0", n)).collect();
    assert_eq!(got, [1, 0, 0, 3, 2, 0, 1, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 3, 0]);
}

#[test]
fn successive_halving_promotes_the_top_third() {
    let sh = SuccessiveHalving { min_resource: 1, reduction_factor: 3, min_early_stopping_rate: 0 };
    // Six peers already reached rung 0 (step 1) with values 1..=6.
    let peers = rung_0_peers(6);
    let judge = |value: f64| {
        let me = trial(99, TrialState::Running, &[value]);
        let refs: Vec<&FrozenTrial> = peers.iter().chain([&me]).collect();
        sh.judge(Direction::Minimize, &refs, &me, &TrialList::default(), 0)
    };
    // Seven competitors → the best 7 / 3 = 2 survive: 1.0 and 2.0 (or a newcomer below 2.0).
    assert!(!judge(1.5).prune);
    assert_eq!(judge(1.5).attrs, vec![("completed_rung_0".to_owned(), serde_json::json!(1.5))]);
    assert!(!judge(2.0).prune);
    assert!(judge(2.5).prune);
    assert!(judge(f64::NAN).prune);
    // Before the first rung's step nothing is decided; bracket 1 waits until step 3.
    let late = SuccessiveHalving { min_early_stopping_rate: 1, ..sh.clone() };
    let me = trial(99, TrialState::Running, &[100.0]);
    assert!(!late.judge(Direction::Minimize, &[&me], &me, &TrialList::default(), 0).prune);
    // Alone at a rung: only the best survives, so a lone trial survives.
    let me = trial(99, TrialState::Running, &[5.0, 5.0, 5.0]);
    assert!(!sh.judge(Direction::Minimize, &[&me], &me, &TrialList::default(), 0).prune);
    // Maximisation flips the order.
    let me = trial(99, TrialState::Running, &[6.5]);
    let refs: Vec<&FrozenTrial> = peers.iter().chain([&me]).collect();
    assert!(!sh.judge(Direction::Maximize, &refs, &me, &TrialList::default(), 0).prune);
    // Hindsight: the study's best finished trial (final 0.5) stood at 5.5 at step 1, where it
    // would not have been kept; so while it is protected the rung keeps 2.5, outside the top
    // third (it stops only the bottom third that is also worse than 5.5).
    let study: TrialList = [Arc::new(trial(50, TrialState::Complete, &[5.5, 0.5]))].into_iter().collect();
    let me = trial(99, TrialState::Running, &[2.5]);
    let refs: Vec<&FrozenTrial> = peers.iter().chain([&me]).collect();
    assert!(!sh.judge(Direction::Minimize, &refs, &me, &study, 1).prune);
    assert!(sh.judge(Direction::Minimize, &refs, &me, &study, 0).prune);
    // A best finished trial that looked good at the rung leaves the rule as it is.
    let study: TrialList = [Arc::new(trial(50, TrialState::Complete, &[0.5, 0.4]))].into_iter().collect();
    assert!(sh.judge(Direction::Minimize, &refs, &me, &study, 1).prune);
}

#[test]
fn successive_halving_at_a_protected_rung_stops_only_the_hopeless() {
    let sh = SuccessiveHalving { min_resource: 1, reduction_factor: 3, min_early_stopping_rate: 0 };
    // Eight peers reached rung 0 (step 1) with values 1..=8; with the judged trial that is nine
    // competitors: the top third is 1, 2, 3 and the bottom third the worst three.
    let peers = rung_0_peers(8);
    let judge = |value: f64, protected_at_step_1: [f64; 2], protect_best: usize| {
        let study: TrialList = protected_at_step_1.iter().enumerate().map(|(i, v)| Arc::new(trial(50 + i as u64, TrialState::Complete, &[*v, 0.5 + i as f64 * 0.1]))).collect();
        let me = trial(99, TrialState::Running, &[value]);
        let refs: Vec<&FrozenTrial> = peers.iter().chain([&me]).collect();
        sh.judge(Direction::Minimize, &refs, &me, &study, protect_best).prune
    };
    // The two best finished trials stood at 4.5 and 5.2 at step 1, outside the top third: the
    // rung is unsafe. 6.5 is in the bottom third and worse than both: stopped.
    assert!(judge(6.5, [4.5, 5.2], 2));
    // 5.5 is worse than both but not in the bottom third: kept (Optuna's rule stops it).
    assert!(!judge(5.5, [4.5, 5.2], 2));
    assert!(judge(5.5, [4.5, 5.2], 0));
    // In the bottom third but better than one best finished trial was (7.2): kept.
    assert!(!judge(6.5, [4.5, 7.2], 2));
    // The top third survives either way; at a safe rung the usual rule applies.
    assert!(!judge(2.5, [4.5, 5.2], 2));
    assert!(judge(3.5, [0.5, 1.5], 2));
}

#[test]
fn median_rule() {
    let completed: TrialList = (0..5).map(|i| Arc::new(trial(i, TrialState::Complete, &[10.0 + i as f64, 5.0 + i as f64]))).collect();
    let ctx = |trials: &TrialList| MedianPruner::optuna().prune(&PruneContext { study_name: "s", direction: Direction::Minimize, trials }, &trial(9, TrialState::Running, &[13.0]));
    // Median at step 1 is 12: a trial at 13 is pruned, at 11 it is kept.
    assert!(ctx(&completed).prune);
    let keep = MedianPruner::optuna().prune(&PruneContext { study_name: "s", direction: Direction::Minimize, trials: &completed }, &trial(9, TrialState::Running, &[11.0]));
    assert!(!keep.prune);
    // Fewer than 5 completed trials: never prune.
    assert!(!ctx(&completed.iter().take(4).cloned().collect()).prune);
    // Warm-up steps.
    let warm = MedianPruner { protect_best: 0, ..MedianPruner::new(5, 2, 1).unwrap() };
    assert!(!warm.prune(&PruneContext { study_name: "s", direction: Direction::Minimize, trials: &completed }, &trial(9, TrialState::Running, &[13.0])).prune);
}

#[test]
fn median_rule_spares_steps_where_the_best_finished_trials_looked_bad() {
    // Crossing curves: four fast learners end at 0.30..0.33, the slow learner (trial 4) ends
    // best at 0.1 but stood at 0.9 at step 2, above that step's median of 0.32.
    let mut completed: TrialList = (0..4).map(|i| Arc::new(trial(i, TrialState::Complete, &[1.0, 0.3 + 0.01 * i as f64, 0.3 + 0.01 * i as f64]))).collect();
    completed.push(Arc::new(trial(4, TrialState::Complete, &[1.0, 0.9, 0.1])));
    let judge = |pruner: &MedianPruner, curve: &[f64]| pruner.prune(&PruneContext { study_name: "s", direction: Direction::Minimize, trials: &completed }, &trial(9, TrialState::Running, curve)).prune;
    assert_eq!(MedianPruner::default().protect_best, 5);
    let (protecting, optuna) = (MedianPruner { protect_best: 1, ..MedianPruner::default() }, MedianPruner::optuna());
    // At step 2 Optuna's rule prunes a 0.8 (and would have pruned the eventual best trial).
    assert!(judge(&optuna, &[1.0, 0.8]));
    assert!(!judge(&protecting, &[1.0, 0.8]));
    // At step 3 the best finished trial led: the step is safe and 0.5 > median 0.31 is pruned.
    assert!(judge(&protecting, &[1.0, 0.8, 0.5]));
    assert!(!judge(&protecting, &[1.0, 0.8, 0.2]));
    // Protecting all five: trial 3 (0.33) sits above the median too, so nothing is pruned.
    assert!(!judge(&MedianPruner::default(), &[1.0, 0.8, 0.5]));
    // The same study maximising the negated values decides the same way.
    let negated: TrialList = completed.iter().map(|t| Arc::new(trial(t.number, TrialState::Complete, &t.intermediate_values.values().map(|v| -v).collect::<Vec<_>>()))).collect();
    let judge_max = |pruner: &MedianPruner, curve: &[f64]| {
        let curve: Vec<f64> = curve.iter().map(|v| -v).collect();
        pruner.prune(&PruneContext { study_name: "s", direction: Direction::Maximize, trials: &negated }, &trial(9, TrialState::Running, &curve)).prune
    };
    assert!(judge_max(&optuna, &[1.0, 0.8]));
    assert!(!judge_max(&protecting, &[1.0, 0.8]));
    assert!(judge_max(&protecting, &[1.0, 0.8, 0.5]));
}

#[test]
fn hyperband_prunes_inside_a_study_and_spares_the_last_bracket() {
    let hb = HyperbandPruner::new(1, 27, 3, None).unwrap();
    let study = Study::builder().name("hb").sampler(RandomSampler::new(Some(0))).pruner(hb.clone()).build().unwrap();
    study
        .optimize_with(
            |t: &mut Trial<'_>| -> anyhow::Result<f64> {
                let x = t.suggest_float("x", 0.0, 1.0)?;
                for step in 1..=27u64 {
                    t.report(x + 1.0 / step as f64, step)?;
                    if step < 27 && t.should_prune()? {
                        return Err(TrialPruned.into());
                    }
                }
                Ok(x)
            },
            OptimizeOptions::trials(60).progress(false),
        )
        .unwrap();
    let trials = study.trials().unwrap();
    let pruned: Vec<&FrozenTrial> = trials.iter().filter(|t| t.state == TrialState::Pruned).collect();
    assert!(pruned.len() >= 20, "only {} pruned", pruned.len());
    for t in &trials {
        let bracket = hb.bracket("hb", t.number);
        if t.state == TrialState::Pruned {
            // A trial is pruned exactly at a rung of its bracket: step 3^(k + r).
            let last = t.last_step().unwrap().0;
            assert!((0..4).any(|r| last == 3u64.pow(bracket as u32 + r)), "trial {} pruned at {last} in bracket {bracket}", t.number);
        }
        if bracket == 3 {
            assert_eq!(t.state, TrialState::Complete, "bracket 3 never prunes before step 27");
        }
    }
}

/// Records which trials the study showed it when sampling.
#[derive(Default)]
struct RecordingSampler {
    seen: std::sync::Mutex<Vec<(u64, Vec<u64>)>>,
}

impl Sampler for RecordingSampler {
    fn sample_independent(&self, ctx: &SampleContext<'_>, _name: &str, _distribution: &Distribution) -> f64 {
        self.seen.lock().unwrap().push((ctx.number, ctx.trials.iter().map(|t| t.number).collect()));
        0.5
    }
}

#[test]
fn under_hyperband_samplers_learn_from_every_bracket() {
    // As Optuna 5: its `_BracketStudy` filters `get_trials` for the pruner, but samplers read
    // `_get_trials`, so TPE learns from all trials (and learning per bracket measured worse).
    let hb = HyperbandPruner::new(1, 27, 3, None).unwrap();
    let sampler = Arc::new(RecordingSampler::default());
    let study = Study::builder().name("hb").sampler(SharedSampler(sampler.clone())).pruner(hb.clone()).build().unwrap();
    study.optimize_with(|t: &mut Trial<'_>| t.suggest_float("x", 0.0, 1.0), OptimizeOptions::trials(30).progress(false)).unwrap();
    let seen = sampler.seen.lock().unwrap();
    assert_eq!(seen.len(), 30);
    assert!((0..30).any(|n| hb.bracket("hb", n) != hb.bracket("hb", 0)), "all trials in one bracket: the test proves nothing");
    for (number, trials) in seen.iter() {
        assert_eq!(trials, &(0..=*number).collect::<Vec<u64>>(), "trial {number}");
    }
}

struct SharedSampler(Arc<RecordingSampler>);

impl Sampler for SharedSampler {
    fn sample_independent(&self, ctx: &SampleContext<'_>, name: &str, distribution: &Distribution) -> f64 {
        self.0.sample_independent(ctx, name, distribution)
    }
}
