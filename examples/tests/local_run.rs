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

/// How task `task` (its path in the run) ended, if it appears in the run at all.
fn task_status(summary: &RunSummary, task: &str) -> Option<&'static str> {
    summary.tasks.iter().find(|t| t.task == task).map(|t| t.status)
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
    let run = &summary.run_dir;
    let output = |task: &str| read(run.join(task).join("outputs/Output"));
    assert_eq!(output("exit-handler-1/flip-coin"), "heads");
    // If(heads) ran; the elif and else branches were skipped.
    assert_eq!(
        output("exit-handler-1/condition-branches-2/condition-3/echo"),
        "heads"
    );
    let status = |task: &str| task_status(&summary, task);
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

/// `OneOf` picks the branch that ran, for the task after the If/Else, for the pipeline's
/// output and for the output of a pipeline used as a task: heads (odd seed) fits the big model,
/// tails the small one.
#[test]
fn branch_outputs_pipeline_takes_the_output_of_the_branch_that_ran() {
    let scratch = Scratch::new("branch-outputs");
    let file = compile(&scratch.0.join("compiled"), "branch-outputs");
    for (seed, ran, skipped, size) in [
        ("7", "condition-2/fit", "condition-3", "big"),
        ("2", "condition-3/fit-2", "condition-2", "small"),
    ] {
        let root = scratch.0.join(format!("root-{seed}"));
        let summary = run_locally(&file, &root, &[&format!("seed={seed}")]);
        let run = &summary.run_dir;
        let status = |task: &str| task_status(&summary, task);
        assert_eq!(
            status(&format!("condition-branches-1/{skipped}")),
            Some("skipped"),
            "seed {seed}"
        );
        assert_eq!(
            status(&format!("condition-branches-1/{ran}")),
            Some("succeeded"),
            "seed {seed}"
        );
        assert_eq!(
            read(run.join("publish/outputs/Output")),
            format!("{size} model: {size} weights"),
            "seed {seed}"
        );
        // A pipeline used as a task returns its OneOf, read by the task after it.
        let side = if seed == "7" { "heads" } else { "tails" };
        assert_eq!(
            read(run.join("announce/outputs/Output")),
            format!("announced: announced: {side}"),
            "seed {seed}"
        );
        let model = &summary.outputs.artifacts["Output"];
        assert_eq!(model.len(), 1, "seed {seed}: {model:?}");
        let fitted = run
            .join("condition-branches-1")
            .join(ran)
            .join("artifacts/model");
        assert_eq!(model[0].uri, fitted.display().to_string(), "seed {seed}");
    }
}

#[test]
fn fan_in_pipeline_hands_every_iterations_model_to_the_consumer_in_order() {
    let scratch = Scratch::new("fan-in");
    let file = compile(&scratch.0.join("compiled"), "fan-in");
    // Not sorted, so item order is visible; seed 2 scores best.
    let summary = run_locally(&file, &scratch.0.join("root"), &["seeds=[3,1,2]"]);
    let run = summary.run_dir;
    let models: Vec<PathBuf> = (0..3)
        .map(|i| run.join(format!("for-loop-1/{i}/train-candidate/artifacts/model")))
        .collect();
    let written: Vec<String> = models.iter().map(|m| read(m.clone())).collect();
    assert_eq!(written, ["model-3", "model-1", "model-2"]);
    // The consumer got one list of three artifacts, as the KFP launcher passes a list input.
    let input: serde_json::Value =
        serde_json::from_str(&read(run.join("pick-best/executor_input.json"))).unwrap();
    let uris: Vec<&str> = input["inputs"]["artifacts"]["models"]["artifacts"]
        .as_array()
        .expect("models is a list of artifacts")
        .iter()
        .map(|a| a["uri"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = models.iter().map(|m| m.display().to_string()).collect();
    assert_eq!(uris, expected);
    let scores: Vec<f64> =
        serde_json::from_value(input["inputs"]["parameterValues"]["scores"].clone()).unwrap();
    assert_eq!(scores, [0.5, 0.5, 1.0]);
    // It read them all, in that order.
    assert_eq!(
        read(run.join("pick-best/outputs/Output")),
        "model-3,model-1,model-2 -> model-2"
    );
    // The pipeline's List[Model] output is the same three artifacts, with their metadata.
    let output = &summary.outputs.artifacts["Output"];
    let output_uris: Vec<&str> = output.iter().map(|a| a.uri.as_str()).collect();
    assert_eq!(output_uris, expected);
    let seeds: Vec<serde_json::Value> = output
        .iter()
        .map(|a| a.metadata.as_ref().unwrap()["seed"].clone())
        .collect();
    assert_eq!(seeds, [3, 1, 2]);
}
