//! The local runner with kfp's `dsl.OneOf`: a `condition-branches` DAG output takes the value
//! (`valueFromOneof`) or artifact (several `artifactSelectors`) of the one branch that ran; a
//! run where no branch, or more than one, produced it fails with a message naming the output.

use kfp_runtime::local::{LocalError, LocalRunner, RunSummary, load_pipeline};
use serde_json::json;
use std::path::Path;

mod common;

fn run(root: &Path, n: i64) -> Result<RunSummary, LocalError> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oneof_pipeline.yaml");
    let spec = load_pipeline(&file).unwrap();
    let mut options = common::options(root, &[&format!("n={n}")], &spec.root.input_definitions);
    options.run_id = Some(format!("n{n}"));
    LocalRunner::new(spec, options).run()
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

#[test]
fn the_branch_that_ran_gives_the_value_and_the_artifact() {
    let root = tempfile::tempdir().unwrap();
    // n = 7: only `n > 2` holds (condition-2: add(n, 100), make-data prefixed "big").
    // n = 1: only `0 < n < 5` holds (condition-3: add(n, 200), make-data prefixed "small").
    for (n, picked, branch, data_task, data) in [
        (
            7,
            107,
            "condition-2",
            "make-data",
            "big 0\nbig 1\nbig 2\nbig 3\nbig 4\nbig 5\nbig 6\n",
        ),
        (1, 201, "condition-3", "make-data-2", "small 0\n"),
    ] {
        let summary = run(root.path(), n).unwrap_or_else(|e| panic!("n = {n}: {e}"));
        assert_eq!(
            summary.outputs.parameters["picked"],
            json!(picked),
            "n = {n}"
        );
        // The task after the If/Else read the same value.
        let after = summary.run_dir.join("add-3/outputs/Output");
        assert_eq!(read(after), (picked + 1000).to_string(), "n = {n}");
        let artifacts = &summary.outputs.artifacts["data"];
        assert_eq!(artifacts.len(), 1, "n = {n}: {artifacts:?}");
        let produced = summary
            .run_dir
            .join("condition-branches-1")
            .join(branch)
            .join(data_task)
            .join("artifacts/data");
        assert_eq!(artifacts[0].uri, produced.display().to_string(), "n = {n}");
        assert_eq!(read(&produced), data, "n = {n}");
    }
}

#[test]
fn no_value_or_two_values_fail_the_run_naming_the_output() {
    let root = tempfile::tempdir().unwrap();
    let cases = [
        (0, "none of 'condition-2', 'condition-3' produced it"),
        (3, "'condition-2', 'condition-3' all produced it"),
    ];
    for (n, reason) in cases {
        let error = match run(root.path(), n) {
            Ok(summary) => panic!("n = {n} ran: {:?}", summary.outputs),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("pipelinechannel--condition-branches-1-oneof-")
                && error.contains(reason),
            "n = {n}: {error}"
        );
    }
}
