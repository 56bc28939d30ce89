//! A component binary for the runtime's own tests and benchmarks: a few components written
//! directly against the executor API, the way `#[component]` expands. Not for users.

use kfp_compiler::dsl::{ClassificationMetrics, Dataset, Metrics, Model};
use kfp_runtime::executor::{
    ComponentEntry, ExecutorContext, ExecutorError, Input, Output, executor_main,
};
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const COMPONENTS: &[(&str, ComponentEntry)] = &[
    ("add", add),
    ("make-data", make_data),
    ("train", train),
    ("concat", concat),
    ("describe", describe),
    ("fail", fail),
    ("panic", panic),
    ("gate", gate),
    ("flaky", flaky),
    ("noop", noop),
    ("final-status", final_status),
    ("stamp", stamp),
    ("probe", probe),
];

fn main() -> ExitCode {
    executor_main(std::env::args().skip(1), COMPONENTS)
}

/// `a + b` as the single output `Output`.
fn add(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let a: i64 = ctx.param("a")?;
    let b: i64 = ctx.param("b")?;
    let result = ctx.run(|| Ok::<_, Infallible>(a + b));
    ctx.finish(result)
}

/// Writes `rows` lines `row i` to the Dataset `data`, recording `rows` in its metadata.
fn make_data(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let rows: u32 = ctx.param("rows")?;
    let prefix: Option<String> = ctx.optional_param("prefix")?;
    let data: Output<Dataset> = ctx.output_artifact("data")?;
    let result = ctx.run(|| -> anyhow::Result<()> {
        let prefix = prefix.unwrap_or_else(|| "row".into());
        let text: String = (0..rows).map(|i| format!("{prefix} {i}\n")).collect();
        std::fs::write(data.path(), text)?;
        data.set_metadata("rows", rows);
        Ok(())
    });
    ctx.finish(result)
}

/// Reads the data set, "trains", and reports a model, metrics, classification metrics and the
/// number of lines seen.
fn train(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let data: Input<Dataset> = ctx.input_artifact("data")?;
    let lr: f64 = ctx.param("lr")?;
    let epochs: i64 = ctx.param("epochs")?;
    let model: Output<Model> = ctx.output_artifact("model")?;
    let metrics: Output<Metrics> = ctx.output_artifact("metrics")?;
    let classes: Output<ClassificationMetrics> = ctx.output_artifact("classes")?;
    let result = ctx.run(|| -> anyhow::Result<f64> {
        let lines = std::fs::read_to_string(data.path())?.lines().count();
        std::fs::create_dir_all(model.path())?;
        std::fs::write(
            model.path().join("weights.txt"),
            format!("lr={lr} epochs={epochs} lines={lines}\n"),
        )?;
        model.set_metadata("framework", "none");
        let accuracy = 1.0 - 1.0 / (lines as f64 + 1.0);
        metrics.log_metric("accuracy", accuracy);
        metrics.log_metric("epochs", epochs as f64);
        classes.log_confusion_matrix(&["neg", "pos"], &[vec![3, 1], vec![0, 4]])?;
        classes.log_roc_curve(&[0.0, 0.25, 1.0], &[0.0, 0.75, 1.0], &[1.0, 0.5, 0.0])?;
        Ok(accuracy)
    });
    ctx.finish(result)
}

/// Concatenates a list of data sets into `merged`; returns the number of inputs.
fn concat(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let parts: Vec<Input<Dataset>> = ctx.input_artifact_list("parts")?;
    let merged: Output<Dataset> = ctx.output_artifact("merged")?;
    let result = ctx.run(|| -> anyhow::Result<i64> {
        let mut text = String::new();
        for part in &parts {
            text.push_str(&std::fs::read_to_string(part.path())?);
        }
        std::fs::write(merged.path(), text)?;
        Ok(parts.len() as i64)
    });
    ctx.finish(result)
}

/// Returns a one-line description of its inputs: a string, an optional list and a struct.
fn describe(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let name: String = ctx.param("name")?;
    let tags: Option<Vec<String>> = ctx.optional_param("tags")?;
    let config: serde_json::Value = ctx.param("config")?;
    let flag: bool = ctx.param("flag")?;
    let result = ctx.run(|| Ok::<_, Infallible>(format!("{name} {tags:?} {config} {flag}")));
    ctx.finish(result)
}

/// Writes part of its output, then fails.
fn fail(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let out: Output<Dataset> = ctx.output_artifact("out")?;
    let result = ctx.run(|| -> anyhow::Result<i64> {
        std::fs::write(out.path(), "partial")?;
        println!("about to fail");
        Err(anyhow::anyhow!("the data is bad"))
    });
    ctx.finish(result)
}

/// Writes part of its output, then panics.
fn panic(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let out: Output<Dataset> = ctx.output_artifact("out")?;
    let result = ctx.run(|| -> Result<i64, Infallible> {
        std::fs::write(out.path(), "partial").expect("write");
        let empty: Vec<i64> = Vec::new();
        Ok(empty[1])
    });
    ctx.finish(result)
}

/// Writes its pid to `<dir>/<name>.pid` and waits (at most 60 s) until the file `<dir>/open`
/// exists, so a test can kill it mid-run; returns `name`.
fn gate(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let name: String = ctx.param("name")?;
    let dir: PathBuf = ctx.param::<String>("dir")?.into();
    let result = ctx.run(|| -> anyhow::Result<String> {
        std::fs::write(
            dir.join(format!("{name}.pid")),
            std::process::id().to_string(),
        )?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.join("open").exists() {
            anyhow::ensure!(Instant::now() < deadline, "gate never opened");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(name.clone())
    });
    ctx.finish(result)
}

/// Fails until it has been called `succeed_on` times, counting calls in `<dir>/<name>.count`;
/// returns the attempt number.
fn flaky(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let name: String = ctx.param("name")?;
    let dir: PathBuf = ctx.param::<String>("dir")?.into();
    let succeed_on: i64 = ctx.param("succeed_on")?;
    let result = ctx.run(|| -> anyhow::Result<i64> {
        let counter = dir.join(format!("{name}.count"));
        let attempt = std::fs::read_to_string(&counter)
            .map(|t| t.trim().parse().unwrap_or(0))
            .unwrap_or(0)
            + 1;
        std::fs::write(&counter, attempt.to_string())?;
        anyhow::ensure!(
            attempt >= succeed_on,
            "attempt {attempt} of {succeed_on} fails on purpose"
        );
        Ok(attempt)
    });
    ctx.finish(result)
}

/// An exit handler: returns `STATE: message` of the task it ran after.
fn final_status(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let status: serde_json::Value = ctx.param("status")?;
    let result = ctx.run(|| {
        let state = status["state"].as_str().unwrap_or("?").to_owned();
        Ok::<_, Infallible>(format!(
            "{state}: {}",
            status["error"]["message"].as_str().unwrap_or("")
        ))
    });
    ctx.finish(result)
}

/// Does nothing (the local runner's per-task overhead benchmark).
fn noop(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let result = ctx.run(|| Ok::<_, Infallible>(()));
    ctx.finish(result)
}

/// Prints the wall-clock time in nanoseconds as its first action (the executor overhead
/// benchmark measures process start to this line).
fn stamp(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let x: f64 = ctx.param("x")?;
    let data: Input<Dataset> = ctx.input_artifact("data")?;
    let out: Output<Dataset> = ctx.output_artifact("out")?;
    let result = ctx.run(|| -> anyhow::Result<f64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        println!("first-line-ns {now}");
        std::fs::copy(data.path(), out.path())?;
        Ok(x * 2.0)
    });
    ctx.finish(result)
}

/// What a task sees of its Kubernetes settings: writes `text` to `write`, then returns
/// `<$var or "unset">|<contents of read>`; with `sleep_ms` it first starts a `sleep` child
/// (its pid in `<write>.child`) and sleeps. A path may start with `$NAME/` (an env var).
fn probe(ctx: ExecutorContext) -> Result<(), ExecutorError> {
    let var: String = ctx.param("var")?;
    let read: Option<String> = ctx.optional_param("read")?;
    let write: Option<String> = ctx.optional_param("write")?;
    let text: Option<String> = ctx.optional_param("text")?;
    let sleep_ms: Option<u64> = ctx.optional_param("sleep_ms")?;
    let result = ctx.run(|| -> anyhow::Result<String> {
        let expand = |path: &str| -> anyhow::Result<PathBuf> {
            let Some(rest) = path.strip_prefix('$') else { return Ok(path.into()) };
            let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
            Ok(PathBuf::from(std::env::var(name).map_err(|_| anyhow::anyhow!("${name} is not set"))?).join(tail))
        };
        if let Some(write) = &write {
            let path = expand(write)?;
            std::fs::write(&path, text.clone().unwrap_or_default())?;
            if let Some(ms) = sleep_ms.filter(|ms| *ms > 0) {
                let child = std::process::Command::new("sleep").arg("60").spawn()?;
                std::fs::write(path.with_extension("child"), child.id().to_string())?;
                std::thread::sleep(Duration::from_millis(ms));
            }
        }
        let seen = match &read {
            Some(read) => std::fs::read_to_string(expand(read)?)?,
            None => String::new(),
        };
        Ok(format!("{}|{seen}", std::env::var(&var).unwrap_or_else(|_| "unset".into())))
    });
    ctx.finish(result)
}
