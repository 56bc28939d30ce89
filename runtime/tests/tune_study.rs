//! Study behaviour: reproducibility, suggest rules, objective failures, ask/tell, parallel runs,
//! and property tests of every distribution's bounds, log scale and step.

use kfp_runtime::tune::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn quadratic(t: &mut Trial<'_>) -> anyhow::Result<f64> {
    let x = t.suggest_float("x", -10.0, 10.0)?;
    let n = t.suggest_int("n", 1, 8)?;
    let c = t.suggest_categorical("c", &["a", "b", "c"])?;
    Ok((x - 2.0).powi(2) + (n - 3) as f64 + if c == "b" { 0.0 } else { 1.0 })
}

fn run(sampler: impl Sampler + 'static, n_jobs: usize, n: usize) -> Vec<FrozenTrial> {
    let study = Study::builder().sampler(sampler).build().unwrap();
    study.optimize_with(quadratic, OptimizeOptions::trials(n).n_jobs(n_jobs).progress(false)).unwrap();
    study.trials().unwrap()
}

fn params(trials: &[FrozenTrial]) -> Vec<Vec<ParamValue>> {
    trials.iter().map(|t| t.param_values().into_values().collect()).collect()
}

#[test]
fn seeded_runs_are_reproducible() {
    let a = run(TpeSampler::new(Some(42)), 1, 40);
    let b = run(TpeSampler::new(Some(42)), 1, 40);
    let c = run(TpeSampler::new(Some(43)), 1, 40);
    assert_eq!(params(&a), params(&b));
    assert_ne!(params(&a), params(&c));
    let a = run(TpeSampler::univariate(Some(7)), 1, 30);
    assert_eq!(params(&a), params(&run(TpeSampler::univariate(Some(7)), 1, 30)));
    assert_eq!(params(&run(RandomSampler::new(Some(1)), 1, 20)), params(&run(RandomSampler::new(Some(1)), 1, 20)));
}

#[test]
fn parallel_runs_draw_what_a_sequential_run_draws_when_history_does_not_matter() {
    // Random draws depend only on (seed, trial number): 4 threads give the same trials.
    let seq = run(RandomSampler::new(Some(5)), 1, 64);
    let par = run(RandomSampler::new(Some(5)), 4, 64);
    assert_eq!(par.len(), 64);
    assert_eq!(params(&seq), params(&par));
}

#[test]
fn parallel_tpe_is_reproducible_when_the_tell_order_is_fixed() {
    let replay = || {
        let study = Study::builder().sampler(TpeSampler::new(Some(3))).build().unwrap();
        for _round in 0..8 {
            // Four trials in flight (constant liar sees the others), told in a fixed order.
            let mut batch: Vec<_> = (0..4).map(|_| study.ask().unwrap()).collect();
            let values: Vec<f64> = batch.iter_mut().map(|t| quadratic(t).unwrap()).collect();
            for (t, v) in batch.into_iter().zip(values) {
                study.tell(t, v).unwrap();
            }
        }
        params(&study.trials().unwrap())
    };
    let first = replay();
    assert_eq!(first.len(), 32);
    assert_eq!(first, replay());
}

#[test]
fn n_jobs_runs_every_trial_once() {
    let calls = AtomicUsize::new(0);
    let study = Study::builder().sampler(TpeSampler::new(Some(0))).build().unwrap();
    study
        .optimize_with(
            |t| {
                calls.fetch_add(1, Ordering::SeqCst);
                quadratic(t)
            },
            OptimizeOptions::trials(50).n_jobs(4).progress(false),
        )
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 50);
    assert_eq!(trials.iter().map(|t| t.number).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

#[test]
fn same_name_returns_same_value_and_conflicts_are_errors() {
    let study = Study::builder().build().unwrap();
    let mut t = study.ask().unwrap();
    let x = t.suggest_float("x", 0.0, 1.0).unwrap();
    assert_eq!(t.suggest_float("x", 0.0, 1.0).unwrap(), x);
    let err = t.suggest_float_log("x", 0.1, 1.0).unwrap_err().to_string();
    assert!(err.contains("`x`") && err.contains("conflicts"), "{err}");
    study.tell(t, x).unwrap();
    // A later trial may not change the kind of `x`.
    let mut t = study.ask().unwrap();
    let err = t.suggest_int("x", 0, 3).unwrap_err().to_string();
    assert!(err.contains("IntDistribution") && err.contains("FloatDistribution"), "{err}");
    assert!(t.suggest_float("x", 0.0, 2.0).is_ok(), "a new range of the same kind is allowed");
}

#[test]
fn bad_objectives_fail_their_trial_and_the_study_goes_on() {
    let study = Study::builder().sampler(RandomSampler::new(Some(0))).build().unwrap();
    study
        .optimize_with(
            |t: &mut Trial<'_>| -> anyhow::Result<f64> {
                let x = t.suggest_float("x", 0.0, 1.0)?;
                match t.number() {
                    0 => Ok(f64::NAN),
                    1 => anyhow::bail!("out of memory in epoch 3"),
                    2 => panic!("index out of bounds"),
                    3 => Err(TrialPruned.into()),
                    _ => Ok(x),
                }
            },
            OptimizeOptions::trials(6).progress(false),
        )
        .unwrap();
    let trials = study.trials().unwrap();
    let states: Vec<TrialState> = trials.iter().map(|t| t.state).collect();
    assert_eq!(states, [TrialState::Fail, TrialState::Fail, TrialState::Fail, TrialState::Pruned, TrialState::Complete, TrialState::Complete]);
    assert!(trials[0].message.as_deref().unwrap().contains("NaN"), "{:?}", trials[0].message);
    assert!(trials[1].message.as_deref().unwrap().contains("out of memory in epoch 3"));
    assert!(trials[2].message.as_deref().unwrap().contains("panicked: index out of bounds"));
    let best = study.best_trial().unwrap();
    assert!(best.number >= 4);
    assert_eq!(study.best_value().unwrap(), best.value.unwrap());
    assert_eq!(study.best_params().unwrap(), best.param_values());
}

#[test]
fn ask_tell_and_enqueue() {
    let study = Study::builder().direction(Direction::Maximize).sampler(RandomSampler::new(Some(9))).build().unwrap();
    assert!(matches!(study.best_trial(), Err(TuneError::NoCompletedTrial(_))));
    let mut fixed = indexmap::IndexMap::new();
    fixed.insert("x".to_owned(), ParamValue::Float(0.25));
    study.enqueue_trial(fixed).unwrap();
    let mut t = study.ask().unwrap();
    assert_eq!(t.suggest_float("x", 0.0, 1.0).unwrap(), 0.25);
    study.tell(t, 1.0).unwrap();
    let mut t = study.ask().unwrap();
    let n = t.number();
    t.suggest_float("x", 0.0, 1.0).unwrap();
    study.tell(t, TrialOutcome::Pruned).unwrap();
    assert!(study.tell_number(n, 5.0).unwrap_err().to_string().contains("PRUNED"));
    let t = study.ask().unwrap();
    study.tell(t, 2.0).unwrap();
    assert_eq!(study.best_value().unwrap(), 2.0);
    let t = study.ask().unwrap();
    let failed = study.tell(t, f64::INFINITY).unwrap();
    assert_eq!(failed.state, TrialState::Fail);
}

#[test]
fn timeout_and_stop_end_a_run() {
    let study = Study::builder().sampler(RandomSampler::new(Some(0))).build().unwrap();
    let start = std::time::Instant::now();
    study
        .optimize_with(
            |t: &mut Trial<'_>| -> anyhow::Result<f64> {
                std::thread::sleep(std::time::Duration::from_millis(5));
                Ok(t.suggest_float("x", 0.0, 1.0)?)
            },
            OptimizeOptions { n_trials: None, ..OptimizeOptions::trials(0) }.timeout(std::time::Duration::from_millis(100)).progress(false),
        )
        .unwrap();
    assert!(start.elapsed().as_secs_f64() < 2.0);
    let n = study.trials().unwrap().len();
    assert!((2..100).contains(&n), "{n}");
    let stopped = Arc::new(Study::builder().build().unwrap());
    stopped.optimize_with(quadratic, OptimizeOptions::trials(50).progress(false).callback(|s, t| if t.number == 4 { s.stop() })).unwrap();
    assert_eq!(stopped.trials().unwrap().len(), 5);
}

#[test]
fn grid_sampler_visits_every_point_once() {
    let mut grid = indexmap::IndexMap::new();
    grid.insert("a".to_owned(), vec![ParamValue::Int(1), ParamValue::Int(2), ParamValue::Int(3)]);
    grid.insert("b".to_owned(), vec![ParamValue::Str("x".into()), ParamValue::Str("y".into())]);
    let study = Study::builder().sampler(GridSampler::new(grid, Some(0)).unwrap()).build().unwrap();
    study
        .optimize_with(
            |t: &mut Trial<'_>| -> anyhow::Result<f64> {
                let a = t.suggest_int("a", 1, 3)?;
                let b = t.suggest_categorical("b", &["x", "y"])?;
                Ok(a as f64 + if b == "x" { 0.0 } else { 0.5 })
            },
            OptimizeOptions::trials(100).progress(false),
        )
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 6, "the run stops when the grid is exhausted");
    let mut seen: Vec<String> = trials.iter().map(|t| format!("{:?}", t.param_values())).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6);
}

/// Property test: for many random distributions, every sampler's values lie inside the bounds,
/// on the step grid, and log ranges are sampled on a log scale.
#[test]
fn every_distribution_is_respected_by_every_sampler() {
    let mut rng = rng::Rng::seed_from(2024);
    for case in 0..60 {
        let (lo, span) = (rng.uniform_in(-100.0, 100.0), rng.uniform_in(0.0, 50.0));
        let step = (rng.below(2) == 0).then(|| rng.uniform_in(0.01, 5.0));
        let float = Distribution::float("f", lo, lo + span, false, step).unwrap();
        let log_lo = 10f64.powf(rng.uniform_in(-6.0, 2.0));
        let log_float = Distribution::float("lf", log_lo, log_lo * 10f64.powf(rng.uniform_in(0.0, 6.0)), true, None).unwrap();
        let ilo = rng.below(200) as i64 - 100;
        let int = Distribution::int("i", ilo, ilo + rng.below(300) as i64, false, 1 + rng.below(7) as i64).unwrap();
        let log_int = Distribution::int("li", 1 + rng.below(10) as i64, 11 + rng.below(5000) as i64, true, 1).unwrap();
        let cat = Distribution::categorical("c", vec![ParamValue::Bool(true), ParamValue::Float(0.5), ParamValue::Int(3), ParamValue::Str("s".into())]).unwrap();
        let space = [("f", &float), ("lf", &log_float), ("i", &int), ("li", &log_int), ("c", &cat)];
        let samplers: Vec<Box<dyn Fn() -> Study>> = vec![
            Box::new(move || Study::builder().sampler(RandomSampler::new(Some(case))).build().unwrap()),
            Box::new(move || Study::builder().sampler(TpeSampler::new(Some(case))).build().unwrap()),
            Box::new(move || Study::builder().sampler(TpeSampler::univariate(Some(case))).build().unwrap()),
        ];
        for make in &samplers {
            let study = make();
            study
                .optimize_with(
                    |t: &mut Trial<'_>| -> anyhow::Result<f64> {
                        let mut loss = 0.0;
                        for (name, dist) in &space {
                            let v = t.suggest(name, dist)?;
                            assert!(dist.to_internal(name, &v).is_ok(), "{v} outside {dist}");
                            loss += v.as_f64().unwrap_or(0.0).abs().ln_1p();
                        }
                        Ok(loss)
                    },
                    OptimizeOptions::trials(14).progress(false),
                )
                .unwrap();
            assert!(study.trials().unwrap().iter().all(|t| t.state == TrialState::Complete));
        }
    }
    // Log scale: a log-uniform draw over [1e-6, 1] is below 1e-3 about half the time.
    let study = Study::builder().sampler(RandomSampler::new(Some(1))).build().unwrap();
    let mut small = 0;
    for _ in 0..2000 {
        let mut t = study.ask().unwrap();
        if t.suggest_float_log("x", 1e-6, 1.0).unwrap() < 1e-3 {
            small += 1;
        }
        study.tell(t, 0.0).unwrap();
    }
    assert!((800..1200).contains(&small), "{small} of 2000 below 1e-3");
}

#[test]
fn tpe_beats_random_on_a_quadratic() {
    let best = |s: Study| {
        s.optimize_with(quadratic, OptimizeOptions::trials(60).progress(false)).unwrap();
        s.best_value().unwrap()
    };
    let mut tpe_wins = 0;
    for seed in 0..5 {
        let tpe = best(Study::builder().sampler(TpeSampler::new(Some(seed))).build().unwrap());
        let random = best(Study::builder().sampler(RandomSampler::new(Some(seed))).build().unwrap());
        tpe_wins += usize::from(tpe < random);
    }
    assert!(tpe_wins >= 4, "TPE won {tpe_wins} of 5");
}

#[test]
fn tpe_start_up_trials_cover_every_stratum_of_every_range() {
    // The first 10 trials form a Latin hypercube: one per tenth of each range (log ranges in
    // log space); Optuna's uniform start-up leaves some tenths empty and others doubled.
    let study = Study::builder().sampler(TpeSampler::new(Some(3))).build().unwrap();
    study
        .optimize_with(
            |t| Ok::<_, TuneError>(t.suggest_float("x", -5.0, 5.0)? + t.suggest_float_log("lr", 1e-5, 1e-1)?.log10() + t.suggest_int("n", 0, 9)? as f64),
            OptimizeOptions::trials(10).progress(false),
        )
        .unwrap();
    let tenths = |name: &str, position: fn(f64) -> f64| {
        let mut strata: Vec<usize> = study.trials().unwrap().iter().map(|t| (position(t.params[name].internal) * 10.0) as usize).collect();
        strata.sort_unstable();
        strata
    };
    let all: Vec<usize> = (0..10).collect();
    assert_eq!(tenths("x", |x| (x + 5.0) / 10.0), all);
    assert_eq!(tenths("lr", |lr| (lr.log10() + 5.0) / 4.0), all);
    assert_eq!(tenths("n", |n| n / 10.0 + 0.05), all);
    let mut uniform = TpeSampler::new(Some(3));
    uniform.latin_hypercube_startup = false;
    assert_ne!(params(&run(uniform, 1, 10)), params(&run(TpeSampler::new(Some(3)), 1, 10)));
}

#[test]
fn tpe_recombines_candidates_from_six_parameters_on() {
    // Below six parameters the default proposal is Optuna's, trial for trial; from six on it
    // draws other candidates (so other trials after the start-up), and the same ones each run.
    let sphere = |d: usize| move |t: &mut Trial<'_>| -> anyhow::Result<f64> { (0..d).map(|i| Ok(t.suggest_float(&format!("x{i}"), -5.0, 5.0)?.powi(2))).sum() };
    let trials = |d: usize, proposal: TpeProposal| {
        let mut sampler = TpeSampler::new(Some(11));
        sampler.proposal = proposal;
        let study = Study::builder().sampler(sampler).build().unwrap();
        study.optimize_with(sphere(d), OptimizeOptions::trials(25).progress(false)).unwrap();
        params(&study.trials().unwrap())
    };
    assert_eq!(trials(5, TpeProposal::ByDimension), trials(5, TpeProposal::Optuna));
    let (ours, optunas) = (trials(6, TpeProposal::ByDimension), trials(6, TpeProposal::Optuna));
    assert_eq!(ours[..10], optunas[..10]);
    assert!((10..25).all(|i| ours[i] != optunas[i]));
    assert_eq!(ours, trials(6, TpeProposal::ByDimension));
}

#[test]
fn bad_settings_are_rejected() {
    assert!(Study::builder().name("s").build().is_ok());
    let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
    Study::builder().name("s").storage(storage.clone()).build().unwrap();
    let err = Study::builder().name("s").storage(storage.clone()).build().err().unwrap().to_string();
    assert!(err.contains("already exists"), "{err}");
    let err = Study::builder().name("s").storage(storage.clone()).direction(Direction::Maximize).load_if_exists(true).build().err().unwrap().to_string();
    assert!(err.contains("minimize"), "{err}");
    assert!(Study::builder().name("missing").storage(storage).load().is_err());
    assert!(HyperbandPruner::new(0, 27, 3, None).is_err());
    assert!(HyperbandPruner::new(1, 27, 3, Some(9)).is_err());
    assert!(MedianPruner::new(5, 0, 0).is_err());
}
