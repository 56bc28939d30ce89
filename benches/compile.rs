//! Compile time of generated pipelines, kfp-rs against kfp 2.17.3, end to end (process start,
//! compile, write YAML), side by side with the ratio.
//!
//! `cargo bench --bench compile` (sizes 10, 100, 1000; kfp-rs also 5000);
//! `-- --full` also runs kfp at 5000 tasks (about 200 s).

use kfp::compiler::compile::{CompileOptions, compile, to_yaml};
use kfp::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[component(image = "python:3.11")]
fn step(x: i64) -> i64 {
    x + 1
}

static TASKS: AtomicUsize = AtomicUsize::new(0);

/// A chain: each task takes the previous task's output.
#[pipeline(name = "chain")]
fn chain() {
    let mut previous = step(0);
    for _ in 1..TASKS.load(Ordering::Relaxed) {
        previous = step(previous.outputs.output);
    }
}

/// Fan-out from one task to many, fan-in to one that runs after all of them.
#[pipeline(name = "fan")]
fn fan() {
    let source = step(0);
    let middle: Vec<_> = (0..TASKS.load(Ordering::Relaxed).saturating_sub(2)).map(|_| step(source.outputs.output)).collect();
    let sink = step(1);
    for task in &middle {
        sink.after(task);
    }
}

fn child(shape: &str, tasks: usize, out: &Path) {
    TASKS.store(tasks, Ordering::Relaxed);
    let definition = if shape == "chain" { chain.definition() } else { fan.definition() };
    let spec = compile(&definition, &CompileOptions::default()).expect("compiles");
    std::fs::write(out, to_yaml(&spec).expect("yaml")).expect("write");
}

const PYTHON: &str = r#"
import sys
from kfp import dsl, compiler
shape, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
@dsl.component(base_image="python:3.11")
def step(x: int) -> int:
    return x + 1
@dsl.pipeline(name=shape)
def p():
    if shape == "chain":
        prev = step(x=0)
        for _ in range(1, n):
            prev = step(x=prev.output)
    else:
        source = step(x=0)
        middle = [step(x=source.output) for _ in range(max(n - 2, 0))]
        sink = step(x=1)
        for t in middle:
            sink.after(t)
compiler.Compiler().compile(p, out)
"#;

fn time(mut command: Command) -> Duration {
    let start = Instant::now();
    let status = command.status().expect("spawn");
    assert!(status.success(), "{command:?} failed");
    start.elapsed()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn kfp_python() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kfp-venv.sh");
    let out = Command::new("bash").arg(script).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], args[i + 2].parse().expect("tasks"), Path::new(&args[i + 3]));
        return;
    }
    let full = args.iter().any(|a| a == "--full");
    let dir = std::env::temp_dir().join(format!("kfp-compile-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let script = dir.join("kfp_pipeline.py");
    std::fs::write(&script, PYTHON).expect("script");
    let python = kfp_python();
    if python.is_none() {
        eprintln!("kfp venv unavailable (scripts/kfp-venv.sh failed): printing kfp-rs only");
    }
    println!("{:<6} {:>6} {:>14} {:>14} {:>10} {:>14}", "shape", "tasks", "kfp-rs", "kfp 2.17.3", "ratio", "kfp-rs/task");
    for shape in ["chain", "fan"] {
        for tasks in [10usize, 100, 1000, 5000] {
            let out = dir.join(format!("{shape}-{tasks}-rs.yaml"));
            let rust = median(
                (0..5)
                    .map(|_| {
                        let mut c = Command::new(std::env::current_exe().expect("exe"));
                        c.args(["--child", shape, &tasks.to_string()]).arg(&out);
                        time(c)
                    })
                    .collect(),
            );
            let python_time = python.as_ref().filter(|_| tasks < 5000 || full).map(|py| {
                let out = dir.join(format!("{shape}-{tasks}-py.yaml"));
                let runs = if tasks >= 1000 { 1 } else { 3 };
                median(
                    (0..runs)
                        .map(|_| {
                            let mut c = Command::new(py);
                            c.arg(&script).args([shape, &tasks.to_string()]).arg(&out);
                            time(c)
                        })
                        .collect(),
                )
            });
            let (py, ratio) = match python_time {
                Some(p) => (format!("{:.3} s", p.as_secs_f64()), format!("{:.0}x", p.as_secs_f64() / rust.as_secs_f64())),
                None => ("-".into(), "-".into()),
            };
            println!(
                "{shape:<6} {tasks:>6} {:>12.4} s {py:>14} {ratio:>10} {:>11.2} us",
                rust.as_secs_f64(),
                rust.as_secs_f64() * 1e6 / tasks as f64
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
