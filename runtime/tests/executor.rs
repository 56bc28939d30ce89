//! The executor against executor inputs shaped exactly as the KFP 2.17 driver and launcher
//! build them (numbers as doubles, upstream artifacts read back from MLMD with an empty
//! `instanceSchema`, `minio://` URIs, the launcher-managed `executor-logs` output), with the
//! local-root override. Written files are checked byte for byte.

use kfp_compiler::dsl::{Dataset, Metrics, Model};
use kfp_runtime::executor::{ExecutorContext, ExecutorError, Input, Output};
use std::cell::Cell;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUN: &str = "minio://mlpipeline/v2/artifacts/train-pipeline/run1/train/salt";

/// The `{{$}}` text for a `train(data: Dataset, epochs: int, lr: float) -> float` task with
/// outputs `model: Model`, `metrics: Metrics`, as the launcher writes it in rooted mode.
fn train_input(root: &Path, epochs: &str, data_type: &str) -> String {
    let root = root.display();
    format!(
        concat!(
            r#"{{"inputs":{{"artifacts":{{"data":{{"artifacts":[{{"name":"101","type":{data_type},"#,
            r#""uri":"minio://mlpipeline/v2/artifacts/train-pipeline/run1/make-data/salt/data","#,
            r#""metadata":{{"display_name":"data","rows":2,"store_session_info":"{{}}"}}}}]}}}},"#,
            r#""parameterValues":{{"epochs":{epochs},"lr":0.1}}}},"#,
            r#""outputs":{{"parameters":{{"Output":{{"outputFile":"{root}/tmp/kfp/outputs/Output"}}}},"#,
            r#""artifacts":{{"classes":{{"artifacts":[{{"name":"classes","type":{{"schemaTitle":"system.ClassificationMetrics","schemaVersion":"0.0.1"}},"uri":"{run}/classes"}}]}},"#,
            r#""executor-logs":{{"artifacts":[{{"name":"executor-logs","type":{{"schemaTitle":"system.Artifact"}},"uri":"{run}/executor-logs-0"}}]}},"#,
            r#""metrics":{{"artifacts":[{{"name":"metrics","type":{{"schemaTitle":"system.Metrics","schemaVersion":"0.0.1"}},"uri":"{run}/metrics"}}]}},"#,
            r#""model":{{"artifacts":[{{"name":"model","type":{{"schemaTitle":"system.Model","schemaVersion":"0.0.1"}},"uri":"{run}/model"}}]}}}},"#,
            r#""outputFile":"{root}/minio/mlpipeline/v2/artifacts/train-pipeline/run1/train/salt/output_metadata.json"}}}}"#
        ),
        data_type = data_type,
        epochs = epochs,
        root = root,
        run = RUN,
    )
}

const MLMD_TYPE: &str = r#"{"instanceSchema":""}"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir
            .path()
            .join("minio/mlpipeline/v2/artifacts/train-pipeline/run1/make-data/salt/data");
        std::fs::create_dir_all(data.parent().unwrap()).unwrap();
        std::fs::write(&data, "a\nb\n").unwrap();
        Self { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn task_root(&self) -> PathBuf {
        self.root()
            .join("minio/mlpipeline/v2/artifacts/train-pipeline/run1/train/salt")
    }

    fn context(&self, epochs: &str, data_type: &str) -> Result<ExecutorContext, ExecutorError> {
        ExecutorContext::from_json(&train_input(self.root(), epochs, data_type), "train")
            .map(|ctx| ctx.with_local_root(self.root()))
    }

    /// Every file under the root except the input data set, relative to the root.
    fn written_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        walk(self.root(), self.root(), &mut files);
        files.retain(|f| !f.ends_with("make-data/salt/data"));
        files.sort();
        files
    }
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// The generated entry of `train`, with a body chosen by the test; `ran` tells whether the
/// function body started.
fn train_entry(
    ctx: ExecutorContext,
    ran: &Cell<bool>,
    body: impl FnOnce(
        &Input<Dataset>,
        i64,
        f64,
        &Output<Model>,
        &Output<Metrics>,
    ) -> anyhow::Result<f64>,
) -> Result<(), ExecutorError> {
    let data: Input<Dataset> = ctx.input_artifact("data")?;
    let epochs: i64 = ctx.param("epochs")?;
    let lr: f64 = ctx.param("lr")?;
    let model: Output<Model> = ctx.output_artifact("model")?;
    let metrics: Output<Metrics> = ctx.output_artifact("metrics")?;
    let result = ctx.run(|| {
        ran.set(true);
        body(&data, epochs, lr, &model, &metrics)
    });
    ctx.finish(result)
}

#[test]
fn writes_parameters_artifacts_and_executor_output_byte_for_byte() {
    let fx = Fixture::new();
    let ran = Cell::new(false);
    let ctx = fx.context("3", MLMD_TYPE).unwrap();
    train_entry(ctx, &ran, |data, epochs, lr, model, metrics| {
        assert_eq!(data.metadata()["rows"], 2);
        assert_eq!(
            data.uri(),
            "minio://mlpipeline/v2/artifacts/train-pipeline/run1/make-data/salt/data"
        );
        let lines = std::fs::read_to_string(data.path())?.lines().count();
        std::fs::write(
            model.path(),
            format!("{lines} lines, {epochs} epochs, lr {lr}"),
        )?;
        model.set_metadata("framework", "none");
        metrics.log_metric("accuracy", 0.75);
        Ok(0.25)
    })
    .unwrap();
    assert!(ran.get());
    let task = fx.task_root();
    assert_eq!(
        std::fs::read_to_string(task.join("model")).unwrap(),
        "2 lines, 3 epochs, lr 0.1"
    );
    assert_eq!(
        std::fs::read_to_string(fx.root().join("tmp/kfp/outputs/Output")).unwrap(),
        "0.25"
    );
    assert_eq!(
        std::fs::read_to_string(task.join("output_metadata.json")).unwrap(),
        format!(
            concat!(
                r#"{{"artifacts":{{"metrics":{{"artifacts":[{{"name":"metrics","uri":"{run}/metrics","metadata":{{"accuracy":0.75}}}}]}},"#,
                r#""model":{{"artifacts":[{{"name":"model","uri":"{run}/model","metadata":{{"framework":"none"}}}}]}}}},"#,
                r#""parameterValues":{{"Output":0.25}}}}"#
            ),
            run = RUN
        )
    );
    assert_eq!(
        fx.written_files(),
        [
            "minio/mlpipeline/v2/artifacts/train-pipeline/run1/train/salt/model",
            "minio/mlpipeline/v2/artifacts/train-pipeline/run1/train/salt/output_metadata.json",
            "tmp/kfp/outputs/Output",
        ]
    );
}

#[test]
fn integral_double_is_accepted_for_an_integer() {
    let fx = Fixture::new();
    let ctx = fx
        .context(
            "3.0",
            r#"{"schemaTitle":"system.Dataset","schemaVersion":"0.0.1"}"#,
        )
        .unwrap();
    let epochs: i64 = ctx.param("epochs").unwrap();
    assert_eq!(epochs, 3);
}

fn rejected_before_running(ctx: Result<ExecutorContext, ExecutorError>) -> String {
    let ran = Cell::new(false);
    let err = ctx
        .and_then(|ctx| train_entry(ctx, &ran, |_, _, _, _, _| Ok(1.0)))
        .unwrap_err();
    assert!(!ran.get(), "the function ran despite: {err}");
    err.to_string()
}

#[test]
fn fractional_value_for_an_integer_fails_before_the_function_runs() {
    let fx = Fixture::new();
    assert_eq!(
        rejected_before_running(fx.context("3.5", MLMD_TYPE)),
        "component 'train': input 'epochs': expected an integer, got 3.5"
    );
    assert!(fx.written_files().is_empty());
}

#[test]
fn string_for_an_integer_fails_before_the_function_runs() {
    let fx = Fixture::new();
    assert_eq!(
        rejected_before_running(fx.context(r#""3""#, MLMD_TYPE)),
        r#"component 'train': input 'epochs': expected an integer, got "3""#
    );
}

#[test]
fn missing_required_input_fails_before_the_function_runs() {
    let fx = Fixture::new();
    let text = train_input(fx.root(), "3", MLMD_TYPE).replace(r#""epochs":3,"#, "");
    assert_eq!(
        rejected_before_running(ExecutorContext::from_json(&text, "train")),
        "component 'train': input 'epochs': missing (not in the executor input)"
    );
}

#[test]
fn malformed_executor_input_is_reported() {
    let fx = Fixture::new();
    let text = train_input(fx.root(), "3", MLMD_TYPE);
    let message = rejected_before_running(ExecutorContext::from_json(&text[..40], "train"));
    assert!(
        message.starts_with("component 'train': malformed executor input: EOF while parsing"),
        "{message}"
    );
    let message = rejected_before_running(ExecutorContext::from_json(
        r#"{"inputs":{"parameterValues":[1]}}"#,
        "train",
    ));
    assert!(
        message.starts_with("component 'train': malformed executor input: invalid type: sequence"),
        "{message}"
    );
}

#[test]
fn wrong_artifact_type_fails_before_the_function_runs() {
    let fx = Fixture::new();
    assert_eq!(
        rejected_before_running(fx.context(
            "3",
            r#"{"schemaTitle":"system.Model","schemaVersion":"0.0.1"}"#
        )),
        "component 'train': input 'data': expected a system.Dataset artifact, got system.Model"
    );
}

#[test]
fn failing_function_leaves_no_output_files() {
    let fx = Fixture::new();
    let ctx = fx.context("3", MLMD_TYPE).unwrap();
    let err = train_entry(ctx, &Cell::new(false), |_, _, _, model, _| {
        std::fs::write(model.path(), "half a model")?;
        Err(anyhow::anyhow!("out of memory").context("training epoch 2"))
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "component 'train' failed: training epoch 2: out of memory"
    );
    assert!(fx.written_files().is_empty(), "{:?}", fx.written_files());
}

#[test]
fn panicking_function_leaves_no_output_files() {
    let fx = Fixture::new();
    let ctx = fx.context("3", MLMD_TYPE).unwrap();
    let err = train_entry(ctx, &Cell::new(false), |_, _, _, model, _| {
        std::fs::create_dir_all(model.path())?;
        std::fs::write(model.path().join("part-0"), "half a model")?;
        let shards: Vec<f64> = Vec::new();
        Ok(shards[3])
    })
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "component 'train' panicked: index out of bounds: the len is 0 but the index is 3 (at "
        ),
        "{message}"
    );
    assert!(message.contains("tests/executor.rs:"), "{message}");
    assert!(!message.contains('\n'));
    assert!(fx.written_files().is_empty(), "{:?}", fx.written_files());
}

#[test]
fn undeclared_output_artifact_is_an_error() {
    let fx = Fixture::new();
    let ctx = fx.context("3", MLMD_TYPE).unwrap();
    let err = ctx.output_artifact::<Model>("weights").unwrap_err();
    assert_eq!(
        err.to_string(),
        "component 'train': output 'weights': not in the executor input"
    );
}

#[test]
fn returned_string_is_written_raw() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out/Output");
    let meta = dir.path().join("task/output_metadata.json");
    let input = serde_json::json!({
        "inputs": {"parameterValues": {"name": "héllo <w> & \"q\"\n"}},
        "outputs": {"parameters": {"Output": {"outputFile": out}}, "outputFile": meta}
    });
    let ctx = ExecutorContext::from_json(&input.to_string(), "echo").unwrap();
    let name: String = ctx.param("name").unwrap();
    let result = ctx.run(|| Ok::<_, Infallible>(name));
    ctx.finish(result).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "héllo <w> & \"q\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(&meta).unwrap(),
        r#"{"parameterValues":{"Output":"héllo <w> & \"q\"\n"}}"#
    );
}

#[test]
fn missing_return_value_for_a_declared_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("Output");
    let input = serde_json::json!({"outputs": {"parameters": {"Output": {"outputFile": out}}}});
    let ctx = ExecutorContext::from_json(&input.to_string(), "nothing").unwrap();
    let result = ctx.run(|| Ok::<_, Infallible>(()));
    let err = ctx.finish(result).unwrap_err();
    assert_eq!(
        err.to_string(),
        "component 'nothing': output 'Output': declared but not returned by the function"
    );
    assert!(!out.exists());
}

/// The process: one `error:` line on stderr and exit status 1; nothing written.
#[test]
fn executor_binary_prints_one_line_and_exits_1() {
    let fx = Fixture::new();
    let output = Command::new(env!("CARGO_BIN_EXE_kfp-test-executor"))
        .args([
            "--executor-input",
            &train_input(fx.root(), "3.5", MLMD_TYPE),
            "--function-to-execute",
            "train",
        ])
        .env("KFP_LOCAL_PATH_ROOT", fx.root())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: component 'train': input 'epochs': expected an integer, got 3.5\n"
    );
    assert!(fx.written_files().is_empty());
}

#[test]
fn executor_binary_writes_under_the_local_root_variable() {
    let fx = Fixture::new();
    let output = Command::new(env!("CARGO_BIN_EXE_kfp-test-executor"))
        .args([
            "--executor-input",
            &train_input(fx.root(), "3", MLMD_TYPE),
            "--function-to-execute",
            "train",
        ])
        .env("KFP_LOCAL_PATH_ROOT", fx.root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        fx.written_files(),
        [
            "minio/mlpipeline/v2/artifacts/train-pipeline/run1/train/salt/model/weights.txt",
            "minio/mlpipeline/v2/artifacts/train-pipeline/run1/train/salt/output_metadata.json",
            "tmp/kfp/outputs/Output",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(fx.root().join("tmp/kfp/outputs/Output")).unwrap(),
        "0.6666666666666667"
    );
    let meta = std::fs::read_to_string(fx.task_root().join("output_metadata.json")).unwrap();
    let classes = format!(
        concat!(
            r#""classes":{{"artifacts":[{{"name":"classes","uri":"{run}/classes","metadata":{{"#,
            r#""confusionMatrix":{{"annotationSpecs":[{{"displayName":"neg"}},{{"displayName":"pos"}}],"rows":[{{"row":[3,1]}},{{"row":[0,4]}}]}},"#,
            r#""confidenceMetrics":[{{"confidenceThreshold":1.0,"recall":0.0,"falsePositiveRate":0.0}},"#,
            r#"{{"confidenceThreshold":0.5,"recall":0.75,"falsePositiveRate":0.25}},"#,
            r#"{{"confidenceThreshold":0.0,"recall":1.0,"falsePositiveRate":1.0}}]}}}}]}}"#
        ),
        run = RUN
    );
    assert!(meta.contains(&classes), "{meta}");
    assert!(meta.contains(r#""metrics":{"artifacts":[{"name":"metrics","uri":"minio://mlpipeline/v2/artifacts/train-pipeline/run1/train/salt/metrics","metadata":{"accuracy":0.6666666666666667,"epochs":3.0}}]}"#), "{meta}");
    assert!(
        meta.ends_with(r#""parameterValues":{"Output":0.6666666666666667}}"#),
        "{meta}"
    );
}
