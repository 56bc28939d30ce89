//! The local runner with resources read at run time (kfp's `set_cpu_limit(channel)`): the
//! placeholders resolve from the task's inputs and are reported, since nothing is enforced
//! locally; a placeholder without a value fails its task with a message naming it.

use kfp_runtime::local::{LocalError, LocalRunner, RunSummary, load_pipeline};
use serde_json::json;
use std::path::{Path, PathBuf};

mod common;

fn fixture() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resources_pipeline.yaml");
    std::fs::read_to_string(path).unwrap()
}

fn run(text: &str, dir: &Path, args: &[&str]) -> Result<RunSummary, LocalError> {
    let file: PathBuf = dir.join("resources_pipeline.yaml");
    std::fs::write(&file, text).unwrap();
    let spec = load_pipeline(&file).unwrap();
    let mut options = common::options(&dir.join("runs"), args, &spec.root.input_definitions);
    options.run_id = Some("r1".into());
    LocalRunner::new(spec, options).run()
}

fn notices(summary: &RunSummary) -> Vec<(String, Vec<String>)> {
    let mut all: Vec<_> = summary
        .tasks
        .iter()
        .filter(|t| !t.notices.is_empty())
        .map(|t| (t.task.clone(), t.notices.clone()))
        .collect();
    all.sort();
    all
}

#[test]
fn resources_from_inputs_outputs_and_loop_items_resolve_and_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = run(&fixture(), tmp.path(), &["cpu=3"]).unwrap();
    assert_eq!(summary.outputs.parameters["Output"], json!(42));
    let reported = notices(&summary);
    let expected = [
        "resources are not enforced locally: CPU limit 3, memory limit 1Gi, 2 x nvidia.com/gpu",
        "resources are not enforced locally: CPU request 1",
        "resources are not enforced locally: CPU request 500m",
    ];
    let mut texts: Vec<&str> = reported
        .iter()
        .flat_map(|(_, n)| n.iter().map(String::as_str))
        .collect();
    texts.sort();
    assert_eq!(texts, expected, "{reported:?}");
    let sum = reported
        .iter()
        .find(|(task, _)| task == "add-2")
        .map(|(_, n)| n);
    assert_eq!(sum, Some(&vec![expected[0].to_owned()]), "{reported:?}");
}

#[test]
fn a_resource_placeholder_without_a_value_fails_its_task_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let supplied =
        "            pipelinechannel--cpu:\n              componentInputParameter: cpu\n";
    let text = fixture();
    assert!(
        text.contains(supplied),
        "the fixture no longer passes pipelinechannel--cpu this way"
    );
    let error = run(&text.replace(supplied, ""), tmp.path(), &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("add-2"), "{error}");
    assert!(
        error.contains("resources.resourceCpuLimit reads input 'pipelinechannel--cpu', which the task was not given a value for"),
        "{error}"
    );
}
