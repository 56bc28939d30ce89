//! `cargo bench -p kfp-runtime --bench tune [-- --quick] [-- --parts suite,overhead,prune] [-- --no-optuna]`
//! Narrower runs while iterating: `--samplers tpe_default`, `--problems branin,mlp_mixed`,
//! `--seeds 100 --seed-base 1000` (seeds 1000..1099, on both sides: 20 seeds give noisy medians),
//! `--pruners median,hyperband`, `--trials 50`, `--overhead-trials 1000 --repeats 1`, `--jobs 1,2,4`, `--traces FILE` (also writes each
//! seed's regret after trials 1..n as JSON). `--optuna-quality-from FILE` takes Optuna's
//! quality side from a saved run (e.g. the baseline's `optuna_baseline.json`; seeded Optuna runs
//! are deterministic) instead of a fresh one; timings always run live.
//!
//! Runs the work of shared/hpo/BASELINE.md with the Rust tuner and, in the same invocation, with
//! Optuna 5.0.0 (`optuna_peer.py`, from a venv it creates under `<repo>/.cache/optuna-venv`),
//! and prints both side by side: regret after 25/50/100 trials over 20 seeds, sampler and
//! framework time per trial at 100/500/1000 trials, pruning at equal compute, and (part `jobs`)
//! how `n_jobs` threads scale a study whose objective is CPU-bound work in the study's language.

mod common;
mod problems;

use kfp_runtime::tune::{
    Direction, HyperbandPruner, MedianPruner, NopPruner, OptimizeOptions, RandomSampler, Study, StudyBuilder, TpeSampler, TrialPruned, TrialState, TuneError,
};
use common::{chance_lower, median_difference_interval, parallel, quantiles};
use problems::{CURVE_OPTIMUM, N_EPOCHS, Problem, curve, suggest_mlp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const SUITE_SAMPLERS: [&str; 3] = ["tpe_default", "tpe_univariate", "random"];
const OVERHEAD_SAMPLERS: [&str; 3] = ["tpe_univariate", "tpe_multivariate", "random"];
const PRUNE_SAMPLERS: [&str; 2] = ["tpe_default", "random"];
/// `*_unprotected` are Optuna's rules exactly (`protect_best = 0`), run on our side only.
const PRUNERS: [&str; 5] = ["none", "median", "hyperband", "median_unprotected", "hyperband_unprotected"];
/// The `jobs` part's objective: this much CPU work per call, as timed on one thread.
const JOBS_OBJECTIVE_MS: f64 = 2.0;

struct Config {
    seeds: Vec<u64>,
    samplers: Vec<String>,
    pruners: Vec<&'static str>,
    problems: Vec<Problem>,
    n_trials: usize,
    overhead_ns: Vec<usize>,
    overhead_repeats: u64,
    /// `n_jobs` values of the `jobs` part.
    job_counts: Vec<usize>,
    budget: u64,
    parts: Vec<String>,
    optuna: bool,
    quick: bool,
}

impl Config {
    /// Trials of each `jobs` study.
    fn jobs_trials(&self) -> usize {
        if self.quick { 40 } else { 200 }
    }

    /// `all` restricted to `--samplers` (tpe_default and tpe_multivariate name the same sampler).
    fn pick(&self, all: &[&'static str]) -> Vec<&'static str> {
        fn alias(s: &str) -> &str {
            if s == "tpe_multivariate" { "tpe_default" } else { s }
        }
        all.iter().copied().filter(|s| self.samplers.is_empty() || self.samplers.iter().any(|x| alias(x) == alias(s))).collect()
    }
}

/// The builder with sampler `name` set. Each sampler is passed as its own type: a boxed one
/// behind a forwarding wrapper once hid a trait method the wrapper did not forward.
fn with_sampler(builder: StudyBuilder, name: &str, seed: u64) -> StudyBuilder {
    match name {
        "tpe_default" | "tpe_multivariate" => builder.sampler(TpeSampler::new(Some(seed))),
        "tpe_univariate" => builder.sampler(TpeSampler::univariate(Some(seed))),
        "random" => builder.sampler(RandomSampler::new(Some(seed))),
        other => panic!("unknown sampler {other}"),
    }
}

/// The builder with pruner `name` set (`*_unprotected`: Optuna's rules, `protect_best = 0`).
fn with_pruner(builder: StudyBuilder, name: &str) -> StudyBuilder {
    let hyperband = || HyperbandPruner::new(1, N_EPOCHS, 3, None).expect("valid settings");
    match name {
        "none" => builder.pruner(NopPruner),
        "median" => builder.pruner(MedianPruner::default()),
        "hyperband" => builder.pruner(hyperband()),
        "median_unprotected" => builder.pruner(MedianPruner::optuna()),
        "hyperband_unprotected" => {
            let mut unprotected = hyperband();
            unprotected.protect_best = 0;
            builder.pruner(unprotected)
        }
        other => panic!("unknown pruner {other}"),
    }
}

fn study(name: String, sampler_name: &str, seed: u64, pruner_name: &str) -> Study {
    let builder = Study::builder().name(name).direction(Direction::Minimize);
    with_pruner(with_sampler(builder, sampler_name, seed), pruner_name).build().expect("in-memory study")
}

fn q_json(values: &[f64]) -> Value {
    let [m, a, b] = quantiles(values);
    json!({"median": m, "q25": a, "q75": b, "values": values})
}

/// The seed values of both sides' cells, when both have some.
fn seed_values(rust: &Value, optuna: &Value) -> Option<(Vec<f64>, Vec<f64>)> {
    let values = |v: &Value| v["values"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<f64>>());
    match (values(rust), values(optuna)) {
        (Some(r), Some(o)) if !r.is_empty() && !o.is_empty() => Some((r, o)),
        _ => None,
    }
}

/// `common::chance_lower` of two cells' seed values, for printing ("-" without values).
fn chance_lower_cell(rust: &Value, optuna: &Value) -> String {
    seed_values(rust, optuna).map_or("-".into(), |(r, o)| format!("{:.2}", chance_lower(&r, &o)))
}

/// Rust's median less Optuna's with `common::median_difference_interval`, for printing.
fn median_difference_cell(rust: &Value, optuna: &Value, sci: bool) -> String {
    let f = |v: f64| if sci { format!("{v:.2e}") } else { format!("{v:.4}") };
    seed_values(rust, optuna).map_or("-".into(), |(r, o)| {
        let [low, high] = median_difference_interval(&r, &o);
        format!("{} [{}, {}]", f(quantiles(&r)[0] - quantiles(&o)[0]), f(low), f(high))
    })
}

fn run_suite(cfg: &Config) -> Value {
    let samplers = cfg.pick(&SUITE_SAMPLERS);
    let jobs: Vec<(Problem, &str, u64)> =
        cfg.problems.iter().flat_map(|p| samplers.iter().flat_map(move |s| cfg.seeds.iter().map(move |seed| (*p, *s, *seed)))).collect();
    let traces = parallel(&jobs, |(problem, sampler_name, seed)| {
        let st = study(format!("{}-{}-{}", problem.name(), sampler_name, seed), sampler_name, *seed, "none");
        st.optimize_with(|t| problem.evaluate(t), OptimizeOptions::trials(cfg.n_trials).progress(false)).expect("study runs");
        let mut best = f64::INFINITY;
        st.trials()
            .unwrap()
            .iter()
            .map(|t| {
                best = best.min(t.value.unwrap_or(f64::INFINITY));
                best
            })
            .collect::<Vec<f64>>()
    });
    let mut out = serde_json::Map::new();
    for &problem in &cfg.problems {
        let mut by_sampler = serde_json::Map::new();
        for &s in &samplers {
            let mine: Vec<&Vec<f64>> = jobs.iter().zip(&traces).filter(|((p, sn, _), _)| *p == problem && *sn == s).map(|(_, t)| t).collect();
            let mut row = serde_json::Map::new();
            for c in [25usize, 50, 100].into_iter().filter(|c| *c <= cfg.n_trials) {
                let regrets: Vec<f64> = mine.iter().map(|t| t[c - 1] - problem.optimum()).collect();
                row.insert(format!("regret@{c}"), q_json(&regrets));
            }
            row.insert("regret_traces".into(), json!(mine.iter().map(|t| t.iter().map(|b| b - problem.optimum()).collect::<Vec<_>>()).collect::<Vec<_>>()));
            by_sampler.insert(s.into(), Value::Object(row));
        }
        out.insert(problem.name().into(), Value::Object(by_sampler));
    }
    Value::Object(out)
}

fn run_overhead(cfg: &Config) -> Value {
    let mut out = serde_json::Map::new();
    for s in cfg.pick(&OVERHEAD_SAMPLERS) {
        let mut by_n = serde_json::Map::new();
        for &n in &cfg.overhead_ns {
            let (mut means, mut margs) = (Vec::new(), Vec::new());
            for seed in 0..cfg.overhead_repeats {
                let st = study(format!("overhead-{s}-{n}-{seed}"), s, seed, "none");
                let stamps = Arc::new(Mutex::new(Vec::with_capacity(n)));
                let stamps_cb = Arc::clone(&stamps);
                let t0 = Instant::now();
                st.optimize_with(
                    |t| suggest_mlp(t).map(|p| problems::mlp_loss(&p)),
                    OptimizeOptions::trials(n).progress(false).callback(move |_, _| stamps_cb.lock().unwrap().push(Instant::now())),
                )
                .expect("study runs");
                let total = t0.elapsed().as_secs_f64();
                let stamps = stamps.lock().unwrap();
                let k = (n / 10).max(1);
                means.push(total / n as f64);
                margs.push((stamps[n - 1] - stamps[n - 1 - k]).as_secs_f64() / k as f64);
            }
            by_n.insert(n.to_string(), json!({"mean_ms_per_trial": 1e3 * quantiles(&means)[0], "marginal_ms_per_trial_last10pct": 1e3 * quantiles(&margs)[0]}));
        }
        out.insert(s.into(), Value::Object(by_n));
    }
    Value::Object(out)
}

/// `steps` steps of a 32-bit linear congruential generator: CPU work that cannot be optimised
/// away or vectorised (each step needs the last). `optuna_peer.py` runs the same loop.
fn burn(steps: u64) -> u64 {
    let mut x = 0u64;
    for _ in 0..std::hint::black_box(steps) {
        x = (x.wrapping_mul(1_103_515_245) + 12_345) & 0xFFFF_FFFF;
    }
    std::hint::black_box(x)
}

/// Steps of `burn` per millisecond on one thread (the fastest of three timings).
fn burn_steps_per_ms() -> f64 {
    let steps = 20_000_000;
    (0..3)
        .map(|_| {
            let t0 = Instant::now();
            burn(steps);
            steps as f64 / (1e3 * t0.elapsed().as_secs_f64())
        })
        .fold(0.0, f64::max)
}

/// Wall time of a TPE study on mlp_mixed whose objective also does `JOBS_OBJECTIVE_MS` of
/// `burn`, for each `n_jobs` (median of the repeats).
fn run_jobs(cfg: &Config) -> Value {
    let steps = (burn_steps_per_ms() * JOBS_OBJECTIVE_MS) as u64;
    let mut by_jobs = serde_json::Map::new();
    for &n_jobs in &cfg.job_counts {
        let walls: Vec<f64> = (0..cfg.overhead_repeats)
            .map(|seed| {
                let st = study(format!("jobs-{n_jobs}-{seed}"), "tpe_default", seed, "none");
                let t0 = Instant::now();
                st.optimize_with(
                    |t| {
                        let p = suggest_mlp(t)?;
                        burn(steps);
                        Ok::<_, TuneError>(problems::mlp_loss(&p))
                    },
                    OptimizeOptions::trials(cfg.jobs_trials()).n_jobs(n_jobs).progress(false),
                )
                .expect("study runs");
                t0.elapsed().as_secs_f64()
            })
            .collect();
        by_jobs.insert(n_jobs.to_string(), json!({"wall_s": quantiles(&walls)[0]}));
    }
    json!({"objective_ms": JOBS_OBJECTIVE_MS, "by_jobs": by_jobs})
}

/// One pruning study: epochs per trial, (cumulative epochs, best so far) per trial, completed count.
type PruneRun = (Vec<u64>, Vec<(u64, f64)>, usize);

fn prune_job(sampler_name: &str, pruner_name: &str, seed: u64, n_trials: Option<usize>, budget: u64) -> PruneRun {
    let st = study(format!("prune-{sampler_name}-{pruner_name}-{seed}"), sampler_name, seed, pruner_name);
    let used = Arc::new(AtomicU64::new(0));
    let used_obj = Arc::clone(&used);
    let objective = move |t: &mut kfp_runtime::tune::Trial<'_>| -> anyhow::Result<f64> {
        let p = suggest_mlp(t)?;
        for e in 1..=N_EPOCHS {
            used_obj.fetch_add(1, Ordering::SeqCst);
            t.report(curve(&p, e), e)?;
            if e < N_EPOCHS && t.should_prune()? {
                return Err(TrialPruned.into());
            }
        }
        Ok(curve(&p, N_EPOCHS))
    };
    let options = match n_trials {
        Some(n) => OptimizeOptions::trials(n),
        None => {
            let used_cb = Arc::clone(&used);
            OptimizeOptions::trials(5000).callback(move |s, _| {
                if used_cb.load(Ordering::SeqCst) >= budget {
                    s.stop();
                }
            })
        }
    };
    st.optimize_with(objective, options.progress(false)).expect("study runs");
    let (mut epochs, mut trace, mut cum, mut best, mut complete) = (Vec::new(), Vec::new(), 0, f64::INFINITY, 0);
    for t in st.trials().unwrap() {
        let e = t.intermediate_values.len() as u64;
        cum += e;
        if t.state == TrialState::Complete {
            complete += 1;
            best = best.min(t.value.unwrap());
        }
        epochs.push(e);
        trace.push((cum, best));
    }
    (epochs, trace, complete)
}

fn run_prune(cfg: &Config, n_trials: Option<usize>) -> Value {
    let jobs: Vec<(&str, &str, u64)> =
        cfg.pick(&PRUNE_SAMPLERS).into_iter().flat_map(|s| cfg.pruners.iter().flat_map(move |p| cfg.seeds.iter().map(move |seed| (s, *p, *seed)))).collect();
    let results = parallel(&jobs, |(s, p, seed)| prune_job(s, p, *seed, n_trials, cfg.budget));
    let mut out = serde_json::Map::new();
    for s in cfg.pick(&PRUNE_SAMPLERS) {
        let mut by_p = serde_json::Map::new();
        for &p in &cfg.pruners {
            let mine: Vec<&PruneRun> = jobs.iter().zip(&results).filter(|((js, jp, _), _)| *js == s && *jp == p).map(|(_, r)| r).collect();
            let fin: Vec<f64> = mine.iter().map(|r| r.1.last().map_or(f64::INFINITY, |x| x.1)).collect();
            let mut row = json!({
                "total_epochs": q_json(&mine.iter().map(|r| r.0.iter().sum::<u64>() as f64).collect::<Vec<_>>()),
                "n_trials": q_json(&mine.iter().map(|r| r.0.len() as f64).collect::<Vec<_>>()),
                "n_complete": q_json(&mine.iter().map(|r| r.2 as f64).collect::<Vec<_>>()),
                "best_final": q_json(&fin),
                "regret_final": q_json(&fin.iter().map(|v| v - CURVE_OPTIMUM).collect::<Vec<_>>()),
            });
            for b in [300u64, 600, 1000] {
                let within: Vec<f64> =
                    mine.iter().map(|r| r.1.iter().filter(|(ce, _)| *ce <= b).map(|(_, bv)| *bv).next_back().unwrap_or(f64::INFINITY)).collect();
                row[format!("best_within_{b}_epochs")] = q_json(&within);
            }
            by_p.insert(p.into(), row);
        }
        out.insert(s.into(), Value::Object(by_p));
    }
    Value::Object(out)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runtime/ is inside the repository").to_path_buf()
}

/// The venv with optuna 5.0.0, created on first use.
fn optuna_python() -> Result<PathBuf, String> {
    let venv = repo_root().join(".cache/optuna-venv");
    let python = venv.join("bin/python");
    let ok = Command::new(&python).args(["-c", "import optuna, sys; sys.exit(optuna.__version__ != '5.0.0')"]).status().is_ok_and(|s| s.success());
    if ok {
        return Ok(python);
    }
    eprintln!("[bench] creating {} with optuna==5.0.0 ...", venv.display());
    let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().map_err(|e| format!("python3 -m venv: {e}"))?;
    if !status.success() {
        return Err("python3 -m venv failed".into());
    }
    let status = Command::new(venv.join("bin/pip")).args(["install", "--quiet", "optuna==5.0.0"]).status().map_err(|e| format!("pip: {e}"))?;
    if !status.success() {
        return Err("pip install optuna==5.0.0 failed".into());
    }
    Ok(python)
}

fn spawn_peer(cfg: &Config, parts: &str) -> Result<std::process::Child, String> {
    let python = optuna_python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/optuna_peer.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).args(["--parts", parts]).stdout(std::process::Stdio::piped());
    if cfg.quick {
        cmd.arg("--quick");
    }
    let (first, count) = (cfg.seeds.first().copied().unwrap_or(0), cfg.seeds.len());
    cmd.args(["--seed-base", &first.to_string(), "--seeds", &count.to_string()]);
    cmd.args(["--jobs", &cfg.job_counts.iter().map(usize::to_string).collect::<Vec<_>>().join(",")]);
    cmd.spawn().map_err(|e| format!("cannot start optuna_peer.py: {e}"))
}

/// Timed part `part` on our side, then on Optuna's: one after the other, so that they do not
/// share the CPU. `None` if the part was not asked for.
fn run_timed_part(cfg: &Config, part: &str, run: fn(&Config) -> Value) -> Option<(Value, Value)> {
    if !cfg.parts.iter().any(|p| p == part) {
        return None;
    }
    let rust = run(cfg);
    let optuna = if cfg.optuna {
        spawn_peer(cfg, part).map(wait_peer).unwrap_or_else(|e| {
            eprintln!("[bench] no Optuna side: {e}");
            Value::Null
        })
    } else {
        Value::Null
    };
    Some((rust, optuna))
}

fn wait_peer(child: std::process::Child) -> Value {
    match child.wait_with_output() {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            eprintln!("[bench] optuna_peer.py printed no JSON: {e}");
            Value::Null
        }),
        Ok(out) => {
            eprintln!("[bench] optuna_peer.py failed: {}", out.status);
            Value::Null
        }
        Err(e) => {
            eprintln!("[bench] optuna_peer.py: {e}");
            Value::Null
        }
    }
}

fn cell(q: &Value, sci: bool) -> String {
    let f = |v: &Value| {
        let v = v.as_f64().unwrap_or(f64::NAN);
        if sci { format!("{v:.3e}") } else { format!("{v:.4}") }
    };
    if q.is_null() {
        return "-".into();
    }
    format!("{} [{}, {}]", f(&q["median"]), f(&q["q25"]), f(&q["q75"]))
}

fn ratio(optuna: &Value, rust: &Value) -> String {
    match (optuna.as_f64(), rust.as_f64()) {
        (Some(o), Some(r)) if r > 0.0 => format!("{:.1}x", o / r),
        _ => "-".into(),
    }
}

fn print_suite(rust: &Value, optuna: &Value, cfg: &Config) {
    println!("\n### Regret to the known optimum: median [q25, q75] over {} seeds (lower is better)\n", cfg.seeds.len());
    println!("| problem | sampler | trials | Rust regret | Optuna 5.0.0 regret | Optuna/Rust (median) | P(Rust < Optuna) | Rust − Optuna median [95 % interval] |");
    println!("|---|---|---|---|---|---|---|---|");
    for &problem in &cfg.problems {
        for s in cfg.pick(&SUITE_SAMPLERS) {
            for c in [25usize, 50, 100].into_iter().filter(|c| *c <= cfg.n_trials) {
                let key = format!("regret@{c}");
                let (r, o) = (&rust[problem.name()][s][&key], &optuna[problem.name()][s][&key]);
                println!(
                    "| {} | {s} | {c} | {} | {} | {} | {} | {} |",
                    problem.name(),
                    cell(r, true),
                    cell(o, true),
                    ratio(&o["median"], &r["median"]),
                    chance_lower_cell(r, o),
                    median_difference_cell(r, o, true)
                );
            }
        }
    }
}

fn print_overhead(rust: &Value, optuna: &Value, cfg: &Config) {
    println!("\n### Sampler + framework time per trial (cheap objective, mlp_mixed, in-memory, median of {} repeats)\n", cfg.overhead_repeats);
    println!("| sampler | n_trials | Rust mean ms | Optuna mean ms | speed-up | Rust marginal ms | Optuna marginal ms | speed-up |");
    println!("|---|---|---|---|---|---|---|---|");
    for s in cfg.pick(&OVERHEAD_SAMPLERS) {
        for n in &cfg.overhead_ns {
            let (r, o) = (&rust[s][n.to_string()], &optuna[s][n.to_string()]);
            let f = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x:.4}"));
            println!(
                "| {s} | {n} | {} | {} | {} | {} | {} | {} |",
                f(&r["mean_ms_per_trial"]),
                f(&o["mean_ms_per_trial"]),
                ratio(&o["mean_ms_per_trial"], &r["mean_ms_per_trial"]),
                f(&r["marginal_ms_per_trial_last10pct"]),
                f(&o["marginal_ms_per_trial_last10pct"]),
                ratio(&o["marginal_ms_per_trial_last10pct"], &r["marginal_ms_per_trial_last10pct"])
            );
        }
    }
}

fn print_jobs(rust: &Value, optuna: &Value, cfg: &Config) {
    println!(
        "\n### Parallel trials: {} TPE trials on mlp_mixed, objective = {} ms of CPU work in the study's own language (Rust / Python), median of {} repeats; {} cores\n",
        cfg.jobs_trials(),
        rust["objective_ms"],
        cfg.overhead_repeats,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| n_jobs | Rust wall s | Rust speed-up | Optuna wall s | Optuna speed-up |");
    println!("|---|---|---|---|---|");
    let wall = |side: &Value, n: usize| side["by_jobs"][n.to_string()]["wall_s"].as_f64();
    let cells = |side: &Value, n: usize| match (wall(side, n), wall(side, 1)) {
        (Some(w), Some(one)) => (format!("{w:.3}"), format!("{:.2}x", one / w)),
        (Some(w), None) => (format!("{w:.3}"), "-".into()),
        _ => ("-".into(), "-".into()),
    };
    for &n in &cfg.job_counts {
        let ((rw, rs), (ow, os)) = (cells(rust, n), cells(optuna, n));
        println!("| {n} | {rw} | {rs} | {ow} | {os} |");
    }
}

fn print_prune(title: &str, rust: &Value, optuna: &Value, cfg: &Config) {
    println!("\n### {title}\n");
    println!("| sampler | pruner | side | trials run | epochs | completed | best final value | P(Rust < Optuna) | Rust − Optuna median [95 % interval] | regret | best ≤300 ep | best ≤1000 ep |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for s in cfg.pick(&PRUNE_SAMPLERS) {
        for &p in &cfg.pruners {
            // Against Optuna's same pruner (it has only the unprotected rule).
            let optuna_rule = p.trim_end_matches("_unprotected");
            let (ours, optunas) = (&rust[s][p]["best_final"], &optuna[s][optuna_rule]["best_final"]);
            let (chance, difference) = (chance_lower_cell(ours, optunas), median_difference_cell(ours, optunas, false));
            let optuna_row = if p == optuna_rule { &optuna[s][p] } else { &Value::Null };
            for (side, v) in [("Rust", &rust[s][p]), ("Optuna", optuna_row)] {
                if v.is_null() {
                    continue;
                }
                let med = |k: &str| v[k]["median"].as_f64().map_or("-".into(), |x| format!("{x:.0}"));
                println!(
                    "| {s} | {p} | {side} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    med("n_trials"),
                    med("total_epochs"),
                    med("n_complete"),
                    cell(&v["best_final"], false),
                    if side == "Rust" { chance.as_str() } else { "" },
                    if side == "Rust" { difference.as_str() } else { "" },
                    cell(&v["regret_final"], true),
                    cell(&v["best_within_300_epochs"], false),
                    cell(&v["best_within_1000_epochs"], false)
                );
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let parts = args.iter().position(|a| a == "--parts").and_then(|i| args.get(i + 1)).map_or("suite,overhead,prune,jobs".to_owned(), Clone::clone);
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let number = |name: &str| flag(name).map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name} takes a number, got `{v}`")));
    let list = |name: &str| flag(name).map_or(Vec::new(), |v| v.split(',').map(str::to_owned).collect::<Vec<_>>());
    let seed_base = number("--seed-base").unwrap_or(0);
    let problems: Vec<Problem> = match list("--problems") {
        names if names.is_empty() => Problem::ALL.to_vec(),
        names => names.iter().map(|n| *Problem::ALL.iter().find(|p| p.name() == n).unwrap_or_else(|| panic!("--problems: unknown problem `{n}`"))).collect(),
    };
    let cfg = Config {
        seeds: (seed_base..seed_base + number("--seeds").unwrap_or(if quick { 3 } else { 20 })).collect(),
        samplers: list("--samplers"),
        pruners: match list("--pruners") {
            names if names.is_empty() => PRUNERS.to_vec(),
            names => names.iter().map(|n| *PRUNERS.iter().find(|p| *p == n).unwrap_or_else(|| panic!("--pruners: unknown pruner `{n}`"))).collect(),
        },
        problems,
        n_trials: number("--trials").map_or(if quick { 30 } else { 100 }, |n| n as usize),
        overhead_ns: match list("--overhead-trials") {
            ns if ns.is_empty() => {
                if quick {
                    vec![50, 100]
                } else {
                    vec![100, 500, 1000]
                }
            }
            ns => ns.iter().map(|n| n.parse().unwrap_or_else(|_| panic!("--overhead-trials takes numbers, got `{n}`"))).collect(),
        },
        overhead_repeats: number("--repeats").unwrap_or(if quick { 1 } else { 3 }),
        job_counts: match list("--jobs") {
            ns if ns.is_empty() => {
                let mut counts = vec![1, 2, std::thread::available_parallelism().map_or(1, |n| n.get())];
                counts.sort_unstable();
                counts.dedup();
                counts
            }
            ns => ns.iter().map(|n| n.parse().unwrap_or_else(|_| panic!("--jobs takes numbers, got `{n}`"))).collect(),
        },
        budget: if quick { 300 } else { 2700 },
        parts: parts.split(',').map(str::to_owned).collect(),
        optuna: !args.iter().any(|a| a == "--no-optuna"),
        quick,
    };
    let has = |p: &str| cfg.parts.iter().any(|x| x == p);
    println!("# kfp-rs tuner vs Optuna 5.0.0{}", if quick { " (--quick: 3 seeds, 30 trials, 300-epoch budget)" } else { "" });

    // Quality parts of the peer run in the background while Rust computes its own; the timed
    // parts (overhead, jobs) run one after the other so that they do not share the CPU.
    let quality_parts: Vec<&str> = ["suite", "prune"].into_iter().filter(|p| has(p)).map(|p| if p == "prune" { "prune,prune_budget" } else { p }).collect();
    // Seeded Optuna runs are deterministic, so their quality side can come from a saved run.
    let saved_quality: Option<Value> = flag("--optuna-quality-from").map(|path| {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("--optuna-quality-from {path}: {e}"));
        let saved: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("--optuna-quality-from {path}: not JSON: {e}"));
        // Distributions over different seed sets still compare, but say so.
        let seeds: Option<Vec<u64>> = saved["seeds"].as_array().map(|a| a.iter().filter_map(Value::as_u64).collect());
        match seeds {
            Some(seeds) if seeds == cfg.seeds => {}
            Some(seeds) => {
                let span = |s: &[u64]| format!("{} seeds from {}", s.len(), s.first().copied().unwrap_or(0));
                eprintln!("[bench] note: {path} holds Optuna's {}, this run's Rust side {}", span(&seeds), span(&cfg.seeds));
            }
            None => eprintln!("[bench] note: {path} does not say which seeds Optuna ran (the baseline's are 0..19)"),
        }
        saved
    });
    let peer = if cfg.optuna && saved_quality.is_none() && !quality_parts.is_empty() {
        spawn_peer(&cfg, &quality_parts.join(",")).map_err(|e| eprintln!("[bench] no Optuna side: {e}")).ok()
    } else {
        None
    };
    let t0 = Instant::now();
    let suite = has("suite").then(|| run_suite(&cfg));
    let prune = has("prune").then(|| (run_prune(&cfg, Some(cfg.n_trials)), run_prune(&cfg, None)));
    eprintln!("[bench] Rust quality parts took {:.1}s", t0.elapsed().as_secs_f64());
    let optuna_quality = saved_quality.unwrap_or_else(|| peer.map(wait_peer).unwrap_or(Value::Null));
    let overhead = run_timed_part(&cfg, "overhead", run_overhead);
    let jobs = run_timed_part(&cfg, "jobs", run_jobs);
    if let Some(suite) = &suite {
        print_suite(suite, &optuna_quality["suite"], &cfg);
        if let Some(path) = flag("--traces") {
            std::fs::write(&path, suite.to_string()).unwrap_or_else(|e| panic!("--traces {path}: {e}"));
        }
    }
    if let Some((rust, optuna)) = &overhead {
        print_overhead(rust, &optuna["overhead"], &cfg);
    }
    if let Some((rust, optuna)) = &jobs {
        print_jobs(rust, &optuna["jobs"], &cfg);
    }
    if let Some((fixed, budget)) = &prune {
        print_prune(&format!("Pruning, {} trials (27-epoch curves; f* = {CURVE_OPTIMUM:.6})", cfg.n_trials), fixed, &optuna_quality["prune"], &cfg);
        print_prune(&format!("Pruning at equal compute ({} epochs)", cfg.budget), budget, &optuna_quality["prune_budget"], &cfg);
    }
}
