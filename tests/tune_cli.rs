//! `kfp tune ask|tell|best` on a journal file: a study driven from the shell, parallel `ask`
//! processes (no duplicate trial numbers), and clear errors for bad input.

use std::path::Path;
use std::process::{Command, Output};

const SPACE: &str = r#"{"lr": {"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.01, "log": true, "step": null}},
 "layers": {"name": "IntDistribution", "attributes": {"low": 1, "high": 4, "log": false, "step": 1}},
 "act": {"name": "CategoricalDistribution", "attributes": {"choices": ["relu", "tanh"]}}}"#;

fn kfp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kfp")).args(args).output().unwrap()
}

fn ok_json(out: Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ask(journal: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["tune", "ask", "--storage", journal.to_str().unwrap(), "--study", "s", "--search-space", SPACE];
    args.extend_from_slice(extra);
    kfp(&args)
}

fn tell(journal: &Path, trial: u64, what: &[&str]) -> Output {
    let n = trial.to_string();
    let mut args = vec!["tune", "tell", "--storage", journal.to_str().unwrap(), "--study", "s", "--trial", &n];
    args.extend_from_slice(what);
    kfp(&args)
}

#[test]
fn ask_tell_best_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("s.jsonl");
    let mut best = f64::INFINITY;
    for i in 0..12u64 {
        let asked = ok_json(ask(&journal, &["--seed", "7"]));
        assert_eq!(asked["number"], i);
        let p = &asked["params"];
        let lr = p["lr"].as_f64().unwrap();
        assert!((1e-5..=1e-2).contains(&lr) && (1..=4).contains(&p["layers"].as_i64().unwrap()));
        assert!(["relu", "tanh"].contains(&p["act"].as_str().unwrap()));
        let value = (lr.log10() + 3.0).powi(2) + p["layers"].as_f64().unwrap();
        best = best.min(value);
        let v = value.to_string();
        ok_json(tell(&journal, i, &["--value", &v]));
    }
    let again = tell(&journal, 11, &["--value", "1"]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("is COMPLETE"), "a finished trial cannot be told twice");
    let b = ok_json(kfp(&["tune", "best", "--storage", journal.to_str().unwrap(), "--study", "s"]));
    assert_eq!(b["value"].as_f64().unwrap(), best);
    assert_eq!(b["state"], "COMPLETE");
    // Pruned and failed trials.
    let n = ok_json(ask(&journal, &[]))["number"].as_u64().unwrap();
    assert_eq!(ok_json(tell(&journal, n, &["--state", "pruned"]))["state"], "PRUNED");
    let n = ok_json(ask(&journal, &[]))["number"].as_u64().unwrap();
    assert_eq!(ok_json(tell(&journal, n, &["--state", "fail"]))["state"], "FAIL");
}

#[test]
fn parallel_ask_processes_get_distinct_trial_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("s.jsonl");
    let spawned: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_kfp"))
                .args(["tune", "ask", "--storage", journal.to_str().unwrap(), "--study", "s", "--search-space", SPACE, "--sampler", "random"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut numbers: Vec<u64> = spawned.into_iter().map(|c| ok_json(c.wait_with_output().unwrap())["number"].as_u64().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (0..8).collect::<Vec<_>>());
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("s.jsonl");
    let j = journal.to_str().unwrap();
    let fails = |out: Output, needle: &str| {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && err.contains(needle), "expected failure with `{needle}`, got: {err}");
    };
    fails(kfp(&["tune", "ask", "--storage", j, "--study", "s", "--search-space", r#"{"x": {"name": "BetaDistribution", "attributes": {}}}"#]), "unknown distribution `BetaDistribution`");
    fails(kfp(&["tune", "ask", "--storage", j, "--study", "s", "--search-space", r#"{"x": {"name": "FloatDistribution", "attributes": {"low": 3, "high": 1}}}"#]), "low=3 is greater than high=1");
    fails(kfp(&["tune", "ask", "--storage", j, "--study", "s", "--search-space", r#"{"c": {"name": "CategoricalDistribution", "attributes": {"choices": []}}}"#]), "empty");
    fails(kfp(&["tune", "best", "--storage", j, "--study", "nope"]), "study `nope` does not exist");
    ok_json(ask(&journal, &[]));
    fails(tell(&journal, 0, &["--value", "nan"]), "not a finite number");
    fails(tell(&journal, 5, &["--value", "1"]), "no trial 5");
    fails(ask(&journal, &["--direction", "maximize"]), "direction minimize, not maximize");
    fails(kfp(&["tune", "best", "--storage", j, "--study", "s"]), "no completed trial");
    // A corrupted journal: garbage before valid lines is an error naming the line.
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, format!("garbage\n{text}")).unwrap();
    fails(kfp(&["tune", "best", "--storage", j, "--study", "s"]), "line 1");
    // A torn last line only warns.
    std::fs::write(&journal, format!("{text}{{\"op\":\"fin")).unwrap();
    let out = tell(&journal, 0, &["--value", "2.5"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning") && String::from_utf8_lossy(&out.stderr).contains("incomplete last line"));
    assert_eq!(ok_json(kfp(&["tune", "best", "--storage", j, "--study", "s"]))["value"], 2.5);
}
