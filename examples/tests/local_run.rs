//! End to end: compiles the example pipelines with this crate's own binary, runs the YAML with
//! the local runner (each task a process of that same binary, as in the container), and checks
//! every output in the run folder.

use kfp::app::{CompileArgs, compile_all};
use kfp::runtime::local::{
    BinaryMap, LocalRunner, RunOptions, RunSummary, load_pipeline, parse_arguments,
};
use std::path::{Path, PathBuf};

/// A fresh folder under the target dir's temp area, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kfp-examples-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn compile(out: &Path, pipeline: &str) -> PathBuf {
    let args = CompileArgs {
        out: out.to_owned(),
        pipelines: vec![pipeline.into()],
        list: false,
        check: false,
        disable_caching: false,
    };
    compile_all(kfp_examples::PIPELINES, &args).unwrap();
    out.join(format!("{pipeline}.yaml"))
}

fn run_locally(file: &Path, root: &Path, args: &[&str]) -> RunSummary {
    let spec = load_pipeline(file).unwrap();
    let mut options = RunOptions::new(root);
    options.arguments = parse_arguments(
        &spec.root.input_definitions,
        &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    )
    .unwrap();
    options.binaries = BinaryMap::parse(&[env!("CARGO_BIN_EXE_compile").to_owned()]).unwrap();
    options.run_id = Some("e2e".into());
    options.quiet = true;
    LocalRunner::new(spec, options)
        .run()
        .unwrap_or_else(|err| panic!("{err}"))
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn hello_pipeline_runs_locally() {
    let scratch = Scratch::new("hello");
    let file = compile(&scratch.0.join("compiled"), "hello-pipeline");
    let summary = run_locally(&file, &scratch.0.join("root"), &["recipient=Rust"]);
    let run = summary.run_dir;
    assert_eq!(read(run.join("say-hello/outputs/Output")), "Hello, Rust!");
    assert!(read(run.join("say-hello/log")).contains("Hello, Rust!\n"));
    assert_eq!(
        read(run.join("write-report/artifacts/report")),
        "# Report\n\nHello, Rust!\n"
    );
    assert_eq!(summary.tasks.len(), 2);
    assert!(
        summary.tasks.iter().all(|t| t.status == "succeeded"),
        "{:?}",
        summary.tasks
    );
}

#[test]
fn training_pipeline_runs_locally() {
    let scratch = Scratch::new("training");
    let file = compile(&scratch.0.join("compiled"), "training-pipeline");
    let summary = run_locally(
        &file,
        &scratch.0.join("root"),
        &["dataset_uri=s3://bucket/raw.csv"],
    );
    let run = summary.run_dir;
    assert_eq!(
        read(run.join("load-data/artifacts/dataset")),
        "source,s3://bucket/raw.csv\n"
    );
    assert_eq!(
        read(run.join("train/artifacts/model")),
        "weights after 10 epochs"
    );
    // loss = 1 / (1 + lr * epochs * rows) with the default lr 1e-3, 10 epochs, 1 row.
    let loss: f64 = read(run.join("train/outputs/Output")).parse().unwrap();
    assert_eq!(loss, 1.0 / (1.0 + 1e-3 * 10.0));
    let train_output: serde_json::Value =
        serde_json::from_str(&read(run.join("train/output_metadata.json"))).unwrap();
    assert_eq!(
        train_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]["loss"],
        loss
    );
    assert_eq!(
        train_output["artifacts"]["model"]["artifacts"][0]["uri"],
        run.join("train/artifacts/model").display().to_string()
    );
    assert_eq!(read(run.join("evaluate/outputs/accuracy")), "0.9");
    assert_eq!(read(run.join("evaluate/outputs/passed")), "true");
    let dataset: serde_json::Value =
        serde_json::from_str(&read(run.join("load-data/task.json"))).unwrap();
    assert_eq!(
        dataset["outputs"]["artifacts"]["dataset"][0]["metadata"]["rows"],
        1
    );
}

#[test]
fn control_flow_pipeline_runs_locally() {
    let scratch = Scratch::new("control-flow");
    let file = compile(&scratch.0.join("compiled"), "control-flow");
    let summary = run_locally(&file, &scratch.0.join("root"), &[r#"words=["a","b"]"#]);
    let run = summary.run_dir;
    let output = |task: &str| read(run.join(task).join("outputs/Output"));
    assert_eq!(output("exit-handler-1/flip-coin"), "heads");
    // If(heads) ran; the elif and else branches were skipped.
    assert_eq!(
        output("exit-handler-1/condition-branches-2/condition-3/echo"),
        "heads"
    );
    let status = |task: &str| {
        summary
            .tasks
            .iter()
            .find(|t| t.task == task)
            .map(|t| t.status)
    };
    assert_eq!(
        status("exit-handler-1/condition-branches-2/condition-4"),
        Some("skipped")
    );
    assert_eq!(
        status("exit-handler-1/condition-branches-2/condition-5"),
        Some("skipped")
    );
    // ParallelFor over the words, collected back in order.
    assert_eq!(output("exit-handler-1/for-loop-6/0/echo-4"), "a");
    assert_eq!(output("exit-handler-1/for-loop-6/1/echo-4"), "b");
    assert_eq!(output("exit-handler-1/join-messages"), "a,b");
    // A loop over structs reads a field through its expression selector.
    assert_eq!(output("exit-handler-1/for-loop-8/0/echo-5"), "x");
    // The exit handler saw the guarded group succeed.
    assert_eq!(output("report-status"), "exit-handler-1 ended SUCCEEDED");
}

#[test]
fn composition_pipeline_runs_locally() {
    let scratch = Scratch::new("composition");
    let file = compile(&scratch.0.join("compiled"), "composition");
    let summary = run_locally(&file, &scratch.0.join("root"), &[]);
    assert_eq!(
        summary.outputs.parameters["Output"],
        "gs://bucket/data.csv (1 metadata keys)"
    );
    assert_eq!(
        read(summary.run_dir.join("describe-2/outputs/Output")),
        "gs://x/y (0 metadata keys)"
    );
    assert_eq!(
        read(
            summary
                .run_dir
                .join("model-maker/make-model/artifacts/model")
        ),
        "weights"
    );
}
