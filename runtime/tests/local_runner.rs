//! The local runner end to end: real executor processes (`kfp-test-executor`), hand-written IR
//! in kfp 2.17's shape, outputs checked in the run folder.

use kfp_runtime::local::{BinaryMap, LocalError, LocalRunner, RunSummary, load_pipeline};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::{EXECUTOR_IN_IMAGE, options};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(
    file: &Path,
    root: &Path,
    args: &[&str],
    run_id: &str,
    cache: bool,
) -> Result<RunSummary, LocalError> {
    let spec = load_pipeline(file).unwrap();
    let mut options = options(root, args, &spec.root.input_definitions);
    options.run_id = Some(run_id.into());
    options.cache = cache;
    LocalRunner::new(spec, options).run()
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn statuses(summary_tasks: &[kfp_runtime::local::TaskRecord]) -> Vec<(String, &'static str)> {
    let mut all: Vec<_> = summary_tasks
        .iter()
        .map(|t| (t.task.clone(), t.status))
        .collect();
    all.sort();
    all
}

#[test]
fn runs_the_dag_and_reports_every_output() {
    let root = tempfile::tempdir().unwrap();
    let summary = run(
        &fixture("train_pipeline.yaml"),
        root.path(),
        &["n=4"],
        "r1",
        true,
    )
    .unwrap();
    let run_dir = root.path().join("train-pipeline/r1");
    assert_eq!(summary.run_dir, run_dir);
    assert_eq!(summary.outputs.parameters["accuracy"], json!(0.8));
    // add(4, default 5) = 9, then add(9, 4) = 13, inside the nested DAG task double-add.
    assert_eq!(summary.outputs.parameters["sum"], json!(13));
    let model = &summary.outputs.artifacts["model"][0];
    assert_eq!(
        model.uri,
        run_dir.join("train/artifacts/model").display().to_string()
    );
    assert_eq!(model.metadata.as_ref().unwrap()["framework"], "none");
    assert_eq!(
        read(run_dir.join("train/artifacts/model/weights.txt")),
        "lr=0.1 epochs=3 lines=4\n"
    );
    assert_eq!(
        read(run_dir.join("make-data/artifacts/data")),
        "row 0\nrow 1\nrow 2\nrow 3\n"
    );
    assert_eq!(
        read(run_dir.join("make-data-2/artifacts/data")),
        "extra 0\nextra 1\n"
    );
    assert_eq!(
        read(run_dir.join("concat/artifacts/merged")),
        "row 0\nrow 1\nrow 2\nrow 3\n"
    );
    assert_eq!(read(run_dir.join("train/outputs/Output")), "0.8");
    assert_eq!(read(run_dir.join("double-add/add-2/outputs/Output")), "13");
    // The executor input is in the driver's shape: upstream artifact with its metadata,
    // numbers as protojson doubles (3, not 3.0), the default lr filled in as the launcher does.
    let train = run_dir.join("train");
    let t = train.display();
    let data = run_dir.join("make-data/artifacts/data");
    assert_eq!(
        read(train.join("executor_input.json")),
        format!(
            concat!(
                r#"{{"inputs":{{"artifacts":{{"data":{{"artifacts":[{{"name":"data","type":{{"schemaTitle":"system.Dataset","schemaVersion":"0.0.1"}},"uri":"{data}","metadata":{{"rows":4}}}}]}}}},"parameterValues":{{"epochs":3,"lr":0.1}}}},"#,
                r#""outputs":{{"parameters":{{"Output":{{"outputFile":"{t}/outputs/Output"}}}},"artifacts":{{"#,
                r#""classes":{{"artifacts":[{{"name":"classes","type":{{"schemaTitle":"system.ClassificationMetrics","schemaVersion":"0.0.1"}},"uri":"{t}/artifacts/classes"}}]}},"#,
                r#""metrics":{{"artifacts":[{{"name":"metrics","type":{{"schemaTitle":"system.Metrics","schemaVersion":"0.0.1"}},"uri":"{t}/artifacts/metrics"}}]}},"#,
                r#""model":{{"artifacts":[{{"name":"model","type":{{"schemaTitle":"system.Model","schemaVersion":"0.0.1"}},"uri":"{t}/artifacts/model"}}]}}}},"#,
                r#""outputFile":"{t}/output_metadata.json"}}}}"#
            ),
            data = data.display(),
            t = t
        )
    );
    let record: Value = serde_json::from_str(&read(run_dir.join("run.json"))).unwrap();
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["outputs"]["parameters"]["sum"], 13);
    assert_eq!(
        statuses(&summary.tasks),
        [
            ("concat".into(), "succeeded"),
            ("double-add/add".into(), "succeeded"),
            ("double-add/add-2".into(), "succeeded"),
            ("make-data".into(), "succeeded"),
            ("make-data-2".into(), "succeeded"),
            ("train".into(), "succeeded"),
        ]
    );
}

#[test]
fn second_run_reuses_cached_outputs_unless_caching_is_off() {
    let root = tempfile::tempdir().unwrap();
    let first = run(
        &fixture("train_pipeline.yaml"),
        root.path(),
        &["n=4"],
        "r1",
        true,
    )
    .unwrap();
    let second = run(
        &fixture("train_pipeline.yaml"),
        root.path(),
        &["n=4"],
        "r2",
        true,
    )
    .unwrap();
    assert!(
        second.tasks.iter().all(|t| t.status == "cached"),
        "{:?}",
        second.tasks
    );
    assert_eq!(second.outputs, first.outputs);
    let train = second.tasks.iter().find(|t| t.task == "train").unwrap();
    assert_eq!(
        train.cached_from.as_deref(),
        Some(root.path().join("train-pipeline/r1/train").as_path())
    );
    // A changed argument changes the keys of the tasks that depend on it, and only those.
    let third = run(
        &fixture("train_pipeline.yaml"),
        root.path(),
        &["n=5"],
        "r3",
        true,
    )
    .unwrap();
    assert_eq!(third.outputs.parameters["sum"], json!(15));
    let ran: Vec<_> = statuses(&third.tasks)
        .into_iter()
        .filter(|(_, s)| *s == "succeeded")
        .map(|(t, _)| t)
        .collect();
    assert_eq!(ran, ["double-add/add", "double-add/add-2"]);
    let uncached = run(
        &fixture("train_pipeline.yaml"),
        root.path(),
        &["n=4"],
        "r4",
        false,
    )
    .unwrap();
    assert!(uncached.tasks.iter().all(|t| t.status == "succeeded"));
    assert_eq!(uncached.outputs.parameters, first.outputs.parameters);
}

#[test]
fn missing_pipeline_argument_is_reported_before_anything_runs() {
    let root = tempfile::tempdir().unwrap();
    let err = run(
        &fixture("train_pipeline.yaml"),
        root.path(),
        &[],
        "r1",
        true,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pipeline argument 'n': required and has no default; pass n=VALUE"
    );
    assert!(!root.path().join("train-pipeline").exists());
}

#[test]
fn unknown_executor_binary_names_the_task_and_the_fix() {
    let root = tempfile::tempdir().unwrap();
    let spec = load_pipeline(&fixture("train_pipeline.yaml")).unwrap();
    let mut options = options(root.path(), &["n=1"], &spec.root.input_definitions);
    options.binaries = BinaryMap::default();
    let err = LocalRunner::new(spec, options)
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("executor command '/usr/local/bin/kfp-test-executor' does not exist here"),
        "{err}"
    );
    assert!(
        err.contains("pass --binary /usr/local/bin/kfp-test-executor=LOCAL_PATH"),
        "{err}"
    );
}

/// Waits until `path` exists (a task started and wrote its pid).
fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn killed_task_is_reported_and_completed_outputs_are_reused_by_a_rerun() {
    let root = tempfile::tempdir().unwrap();
    let gates = tempfile::tempdir().unwrap();
    let dir_arg = format!("dir={}", gates.path().display());
    let file = fixture("kill_pipeline.yaml");
    let (file2, root2, dir2) = (file.clone(), root.path().to_owned(), dir_arg.clone());
    let first = std::thread::spawn(move || run(&file2, &root2, &[&dir2], "r1", true));
    let pid = wait_for(&gates.path().join("g.pid"));
    let killed = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let err = first.join().unwrap().unwrap_err();
    let LocalError::TaskFailed {
        task, cause, log, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((task.as_str(), cause.as_str()), ("gate", "signal: killed"));
    assert_eq!(log, &root.path().join("kill-pipeline/r1/gate/log"));
    let run1 = root.path().join("kill-pipeline/r1");
    assert_eq!(read(run1.join("first/outputs/Output")), "6");
    let record: Value = serde_json::from_str(&read(run1.join("run.json"))).unwrap();
    assert_eq!(record["status"], "failed");
    assert!(
        !run1.join("last").exists(),
        "a task after the failure started"
    );

    std::fs::write(gates.path().join("open"), "").unwrap();
    let rerun = run(&file, root.path(), &[&dir_arg], "r2", true).unwrap();
    assert_eq!(
        statuses(&rerun.tasks),
        [
            ("first".into(), "cached"),
            ("gate".into(), "succeeded"),
            ("last".into(), "succeeded")
        ]
    );
    assert_eq!(
        rerun
            .tasks
            .iter()
            .find(|t| t.task == "first")
            .unwrap()
            .cached_from
            .as_deref(),
        Some(run1.join("first").as_path())
    );
    assert_eq!(rerun.outputs.parameters["total"], json!(11));
    assert_eq!(read(run1.join("first/outputs/Output")), "6");
}

#[test]
fn failing_task_stops_the_run_with_its_log_tail() {
    let root = tempfile::tempdir().unwrap();
    let gates = tempfile::tempdir().unwrap();
    let dir_arg = format!("dir={}", gates.path().display());
    let err = run(
        &fixture("fail_pipeline.yaml"),
        root.path(),
        &[&dir_arg],
        "r1",
        true,
    )
    .unwrap_err();
    let LocalError::TaskFailed {
        task,
        cause,
        log_tail,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((task.as_str(), cause.as_str()), ("bad", "exit status 1"));
    assert_eq!(
        log_tail,
        "about to fail\nerror: component 'fail' failed: the data is bad"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("task 'bad' failed: exit status 1\n--- last lines of "),
        "{message}"
    );
    // The executor removed its partial output; the independent gate task was killed.
    let run1 = root.path().join("fail-pipeline/r1");
    assert!(!run1.join("bad/artifacts/out").exists());
    let record: Value = serde_json::from_str(&read(run1.join("run.json"))).unwrap();
    let tasks = record["tasks"].as_array().unwrap();
    let status = |name: &str| {
        tasks
            .iter()
            .find(|t| t["task"] == name)
            .map(|t| t["status"].clone())
    };
    assert_eq!(status("bad"), Some(json!("failed")));
    assert!(
        matches!(
            status("waiting").as_ref().and_then(Value::as_str),
            None | Some("cancelled")
        ),
        "{record}"
    );
}

#[test]
fn retry_policy_reruns_a_failing_task() {
    let root = tempfile::tempdir().unwrap();
    let gates = tempfile::tempdir().unwrap();
    let dir_arg = format!("dir={}", gates.path().display());
    // maxRetryCount 2: the third attempt succeeds.
    let summary = run(
        &fixture("retry_pipeline.yaml"),
        root.path(),
        &[&dir_arg, "k=3"],
        "r1",
        true,
    )
    .unwrap();
    let flaky = summary.tasks.iter().find(|t| t.task == "flaky").unwrap();
    assert_eq!((flaky.status, flaky.attempts), ("succeeded", 3));
    assert_eq!(summary.outputs.parameters["attempts"], json!(3));
    let log = read(root.path().join("retry-pipeline/r1/flaky/log"));
    assert_eq!(log.matches("fails on purpose").count(), 2, "{log}");
    // Four needed: retries exhausted.
    std::fs::remove_file(gates.path().join("flaky.count")).unwrap();
    let err = run(
        &fixture("retry_pipeline.yaml"),
        root.path(),
        &[&dir_arg, "k=4"],
        "r2",
        true,
    )
    .unwrap_err();
    let LocalError::TaskFailed { task, cause, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (task.as_str(), cause.as_str()),
        ("flaky", "exit status 1 (after 3 attempts)")
    );
}

#[test]
fn conditions_loops_importer_and_exit_handler_run() {
    let root = tempfile::tempdir().unwrap();
    let summary = run(
        &fixture("control_flow_pipeline.yaml"),
        root.path(),
        &["n=3"],
        "r1",
        true,
    )
    .unwrap();
    // for item in [1, 2, 3]: add(item, n) -> collected as a list, in item order.
    assert_eq!(summary.outputs.parameters["looped"], json!([4, 5, 6]));
    let run_dir = root.path().join("control-flow/r1");
    assert_eq!(
        read(run_dir.join("exit-handler-1/for-loop-1/2/add-2/outputs/Output")),
        "6"
    );
    assert_eq!(
        read(run_dir.join("exit-handler-1/condition-1/add/outputs/Output")),
        "8"
    );
    assert_eq!(
        read(run_dir.join("final-status/outputs/Output")),
        "SUCCEEDED: "
    );
    let status = |name: &str| {
        summary
            .tasks
            .iter()
            .find(|t| t.task == name)
            .map(|t| t.status)
    };
    assert_eq!(status("exit-handler-1/condition-2"), Some("skipped"));
    assert_eq!(status("exit-handler-1/condition-2/fail"), None);
    let importer: Value =
        serde_json::from_str(&read(run_dir.join("exit-handler-1/importer/task.json"))).unwrap();
    assert_eq!(
        importer["outputs"]["artifacts"]["artifact"][0]["uri"],
        "gs://bucket/data.csv"
    );
}

#[test]
fn exit_handler_runs_after_a_failure_and_sees_it() {
    let root = tempfile::tempdir().unwrap();
    let err = run(
        &fixture("control_flow_pipeline.yaml"),
        root.path(),
        &["n=1"],
        "r1",
        true,
    )
    .unwrap_err();
    let LocalError::TaskFailed { task, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(task, "exit-handler-1/condition-2/fail");
    let final_status = read(
        root.path()
            .join("control-flow/r1/final-status/outputs/Output"),
    );
    assert_eq!(
        final_status,
        "FAILED: task 'exit-handler-1/condition-2/fail' failed: exit status 1"
    );
}

/// Two independent `gate` tasks (IR as JSON, which YAML readers accept).
fn two_gates(dir: &Path) -> PathBuf {
    let gate = |name: &str| {
        json!({
            "componentRef": {"name": "comp-gate"},
            "inputs": {"parameters": {"name": {"runtimeValue": {"constant": name}}, "dir": {"componentInputParameter": "dir"}}},
            "taskInfo": {"name": name}
        })
    };
    let spec = json!({
        "components": {"comp-gate": {
            "executorLabel": "exec-gate",
            "inputDefinitions": {"parameters": {"dir": {"parameterType": "STRING"}, "name": {"parameterType": "STRING"}}},
            "outputDefinitions": {"parameters": {"Output": {"parameterType": "STRING"}}}
        }},
        "deploymentSpec": {"executors": {"exec-gate": {"container": {
            "args": ["--executor-input", "{{$}}", "--function-to-execute", "gate"],
            "command": [EXECUTOR_IN_IMAGE],
            "image": "example.com/kfp-test-executor:latest"
        }}}},
        "pipelineInfo": {"name": "two-gates"},
        "root": {
            "dag": {"tasks": {"g1": gate("g1"), "g2": gate("g2")}},
            "inputDefinitions": {"parameters": {"dir": {"parameterType": "STRING"}}}
        },
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-rs-0.1.0"
    });
    let file = dir.join("two_gates.yaml");
    std::fs::write(&file, spec.to_string()).unwrap();
    file
}

#[test]
fn parallelism_bounds_the_running_processes() {
    for parallelism in [2, 1] {
        let root = tempfile::tempdir().unwrap();
        let gates = tempfile::tempdir().unwrap();
        let file = two_gates(root.path());
        let spec = load_pipeline(&file).unwrap();
        let mut options = options(root.path(), &[&format!("dir={}", gates.path().display())], &spec.root.input_definitions);
        options.parallelism = parallelism;
        let running = std::thread::spawn(move || LocalRunner::new(spec, options).run());
        let (g1, g2) = (gates.path().join("g1.pid"), gates.path().join("g2.pid"));
        if parallelism == 2 {
            // Both wait for the gate at the same time.
            wait_for(&g1);
            wait_for(&g2);
        } else {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !g1.exists() && !g2.exists() {
                assert!(Instant::now() < deadline, "no gate started");
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(300));
            assert!(!(g1.exists() && g2.exists()), "two processes ran with parallelism 1");
        }
        std::fs::write(gates.path().join("open"), "").unwrap();
        let summary = running.join().unwrap().unwrap();
        assert_eq!(summary.tasks.len(), 2);
    }
}

#[test]
fn collected_artifacts_gather_the_iterations_that_produced_them_in_item_order() {
    let root = tempfile::tempdir().unwrap();
    let summary = run(&fixture("collected_pipeline.yaml"), root.path(), &[], "r1", false).unwrap();
    let run_dir = root.path().join("collected/r1");
    let data = |i: usize| run_dir.join(format!("for-loop-2/{i}/condition-3/make-data/artifacts/data"));
    // Items [3, 1, 2]: the iteration of 1 skipped its condition, so two data sets, in item order.
    assert_eq!(read(run_dir.join("concat/outputs/Output")), "2");
    assert_eq!(read(run_dir.join("concat/artifacts/merged")), "row 0\nrow 1\nrow 2\nrow 0\nrow 1\n");
    let gathered: Vec<String> = summary.outputs.artifacts["gathered"].iter().map(|a| a.uri.clone()).collect();
    assert_eq!(gathered, [data(0).display().to_string(), data(2).display().to_string()]);
    // A loop over no items gathers an empty list, which its consumer still gets.
    assert_eq!(read(run_dir.join("concat-2/outputs/Output")), "0");
}
