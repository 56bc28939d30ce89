//! The journal storage: resume after a `kill -9` of a running study process (no finished trial
//! lost, RUNNING trials failed or retried), two processes sharing one journal (no duplicate
//! trial numbers), torn and corrupted lines.
//!
//! Worker processes are this test binary itself, started with `TUNE_JOURNAL_WORKER` set: the
//! ignored test `worker` then runs a study on the journal it names.

use kfp_runtime::tune::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKER_ENV: &str = "TUNE_JOURNAL_WORKER";

fn open(path: &Path, policy: StalePolicy) -> Study {
    let storage: Arc<dyn Storage> = Arc::new(JournalStorage::open(path).unwrap());
    Study::builder().name("shared").storage(storage).sampler(TpeSampler::new(Some(11))).load_if_exists(true).stale_running(policy).build().unwrap()
}

fn objective(sleep_ms: u64) -> impl Fn(&mut Trial<'_>) -> anyhow::Result<f64> + Sync {
    move |t| {
        let x = t.suggest_float("x", -5.0, 5.0)?;
        let n = t.suggest_int("n", 1, 4)?;
        std::thread::sleep(Duration::from_millis(sleep_ms));
        Ok(x * x + n as f64)
    }
}

/// Runs inside a worker process only: `TUNE_JOURNAL_WORKER=path:trials:sleep_ms`.
#[test]
#[ignore = "worker process of the tests below"]
fn worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else { return };
    let mut parts = spec.rsplitn(3, ':');
    let sleep_ms: u64 = parts.next().unwrap().parse().unwrap();
    let trials: usize = parts.next().unwrap().parse().unwrap();
    let path = parts.next().unwrap();
    open(Path::new(path), StalePolicy::Keep).optimize_with(objective(sleep_ms), OptimizeOptions::trials(trials).progress(false)).unwrap();
}

fn spawn_worker(path: &Path, trials: usize, sleep_ms: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["worker", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, format!("{}:{trials}:{sleep_ms}", path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn complete(study: &Study) -> usize {
    study.trials().unwrap().iter().filter(|t| t.state == TrialState::Complete).count()
}

fn kill_while_running(dir: &Path) -> (std::path::PathBuf, Vec<FrozenTrial>) {
    let path = dir.join("study.jsonl");
    let mut child = spawn_worker(&path, 1000, 40);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "worker made no progress");
        if path.exists() {
            let storage = JournalStorage::open(&path).unwrap();
            if let Some(snap) = storage.snapshot("shared").unwrap() {
                let done = snap.trials.iter().filter(|t| t.state == TrialState::Complete).count();
                if done >= 5 && snap.trials.last().is_some_and(|t| t.state == TrialState::Running) {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let storage = JournalStorage::open(&path).unwrap();
    let before: Vec<FrozenTrial> = storage.snapshot("shared").unwrap().unwrap().trials.iter().map(|t| FrozenTrial::clone(t)).collect();
    (path, before)
}

#[test]
fn resume_after_kill_9_keeps_finished_trials_and_fails_running_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (path, before) = kill_while_running(dir.path());
    let finished: Vec<&FrozenTrial> = before.iter().filter(|t| t.state == TrialState::Complete).collect();
    let running: Vec<u64> = before.iter().filter(|t| t.state == TrialState::Running).map(|t| t.number).collect();
    assert!(finished.len() >= 5 && !running.is_empty());

    let study = open(&path, StalePolicy::Fail);
    let after = study.trials().unwrap();
    for t in &finished {
        let same = &after[t.number as usize];
        assert_eq!((same.state, same.value, same.param_values()), (t.state, t.value, t.param_values()), "trial {} changed", t.number);
    }
    for n in &running {
        assert_eq!(after[*n as usize].state, TrialState::Fail);
        assert!(after[*n as usize].message.as_deref().unwrap().contains("stopped while the trial was running"));
    }
    study.optimize_with(objective(0), OptimizeOptions::trials(5).progress(false)).unwrap();
    assert_eq!(complete(&study), finished.len() + 5);
    let numbers: Vec<u64> = study.trials().unwrap().iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..numbers.len() as u64).collect::<Vec<_>>());
}

#[test]
fn resume_after_kill_9_can_retry_running_trials() {
    let dir = tempfile::tempdir().unwrap();
    let (path, before) = kill_while_running(dir.path());
    let killed = before.iter().rfind(|t| t.state == TrialState::Running).unwrap().clone();
    let study = open(&path, StalePolicy::Retry);
    let trials = study.trials().unwrap();
    assert_eq!(trials[killed.number as usize].state, TrialState::Fail);
    let retry = trials.last().unwrap();
    assert_eq!(retry.state, TrialState::Waiting);
    study.optimize_with(objective(0), OptimizeOptions::trials(1).progress(false)).unwrap();
    let rerun = &study.trials().unwrap()[retry.number as usize];
    assert_eq!(rerun.state, TrialState::Complete);
    for (name, value) in killed.param_values() {
        assert_eq!(rerun.param(&name), Some(&value), "retried trial keeps `{name}`");
    }
}

#[test]
fn two_processes_share_one_journal_without_duplicate_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.jsonl");
    let mut a = spawn_worker(&path, 40, 1);
    let mut b = spawn_worker(&path, 40, 1);
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let study = open(&path, StalePolicy::Keep);
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 80);
    assert_eq!(trials.iter().map(|t| t.number).collect::<Vec<_>>(), (0..80).collect::<Vec<_>>());
    assert_eq!(complete(&study), 80);
    // Each journal line is one operation; replaying it gives the same study.
    let create_lines = std::fs::read_to_string(&path).unwrap().lines().filter(|l| l.contains("\"op\":\"create_trial\"")).count();
    assert_eq!(create_lines, 80);
}

#[test]
fn threads_with_separate_handles_share_one_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.jsonl");
    open(&path, StalePolicy::Keep);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| open(&path, StalePolicy::Keep).optimize_with(objective(0), OptimizeOptions::trials(15).progress(false)).unwrap());
        }
    });
    assert_eq!(complete(&open(&path, StalePolicy::Keep)), 45);
}

#[test]
fn a_torn_last_line_is_ignored_and_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.jsonl");
    let study = open(&path, StalePolicy::Keep);
    study.optimize_with(objective(0), OptimizeOptions::trials(3).progress(false)).unwrap();
    drop(study);
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{good}{{\"op\":\"finish\",\"study\":\"sha")).unwrap();
    let study = open(&path, StalePolicy::Keep);
    assert_eq!(complete(&study), 3);
    study.optimize_with(objective(0), OptimizeOptions::trials(2).progress(false)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&good) && !text.contains("\"sha{"), "the torn fragment is cut before appending");
    assert_eq!(complete(&open(&path, StalePolicy::Keep)), 5);
}

#[test]
fn a_malformed_line_in_the_middle_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.jsonl");
    open(&path, StalePolicy::Keep).optimize_with(objective(0), OptimizeOptions::trials(2).progress(false)).unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    lines.insert(3, "not json at all".into());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = JournalStorage::open(&path).unwrap_err().to_string();
    assert!(err.contains("study.jsonl") && err.contains("line 4") && err.contains("valid lines follow"), "{err}");

    // An operation that contradicts the journal (a trial number used twice) is also an error.
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    lines.remove(3);
    let dup = lines.iter().find(|l| l.contains("create_trial")).unwrap().clone();
    lines.push(dup);
    lines.push(lines[0].clone());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = JournalStorage::open(&path).unwrap_err().to_string();
    assert!(err.contains("taken"), "{err}");
}
