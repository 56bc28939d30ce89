//! Parity with kfp 2.17.3: every pipeline in `parity_pipelines` is also written in kfp Python
//! (`tests/parity/<stem>.py`). Both are compiled and `tests/support/ir_diff.py` must find no
//! semantic difference between them.

mod parity_pipelines;
mod support;

use parity_pipelines::PARITY;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::{compile_to_file, fresh_dir, run_support_script, transcript};

/// Scratch space: `kfp/` holds kfp's IR, `rust/` ours.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = fresh_dir("parity");
        fs::create_dir_all(dir.join("rust")).expect("create the scratch folder for kfp-rs IR");
        dir
    })
}

fn python_sources() -> Vec<PathBuf> {
    let dir = support::repo().join("tests/parity");
    let mut sources: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("read a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "py"))
        .collect();
    sources.sort();
    sources
}

/// kfp's IR of every `tests/parity/*.py`, compiled once in one Python process.
fn kfp_ir_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = DIR.get_or_init(|| {
        let out = scratch().join("kfp");
        fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let sources = python_sources();
        let mut args: Vec<&Path> = vec![&out];
        args.extend(sources.iter().map(PathBuf::as_path));
        let output = run_support_script("compile_parity.py", &args);
        if output.status.success() { Ok(out) } else { Err(transcript(&output)) }
    });
    match result {
        Ok(dir) => dir,
        Err(message) => panic!("kfp could not compile the Python parity pipelines:\n{message}"),
    }
}

fn rust_ir(stem: &str) -> PathBuf {
    let twin = PARITY
        .iter()
        .find(|t| t.stem == stem)
        .unwrap_or_else(|| panic!("no Rust parity pipeline for {stem:?} in tests/parity_pipelines/mod.rs"));
    let path = scratch().join("rust").join(format!("{stem}.yaml"));
    compile_to_file(twin.pipeline, &twin.options(), &path);
    path
}

fn assert_parity(stem: &str) {
    let golden = kfp_ir_dir().join(format!("{stem}.yaml"));
    let ours = rust_ir(stem);
    let output = run_support_script("ir_diff.py", &[&golden, &ours]);
    assert!(
        output.status.success(),
        "kfp ({}) and kfp-rs ({}) disagree on {stem}:\n{}",
        golden.display(),
        ours.display(),
        transcript(&output)
    );
}

macro_rules! parity_tests {
    ($($stem:ident),* $(,)?; ignored: $($ignored:ident = $why:literal),* $(,)?) => {
        $(
            #[test]
            fn $stem() {
                assert_parity(stringify!($stem));
            }
        )*

        $(
            #[test]
            #[ignore = $why]
            fn $ignored() {
                assert_parity(stringify!($ignored));
            }
        )*

        /// Each Python pipeline has a Rust twin and a test, and the other way round.
        #[test]
        fn every_parity_pipeline_has_both_halves_and_a_test() {
            let tested: BTreeSet<&str> = [$(stringify!($stem),)* $(stringify!($ignored),)*].into_iter().collect();
            let rust: BTreeSet<&str> = PARITY.iter().map(|t| t.stem).collect();
            let python: BTreeSet<String> = python_sources()
                .iter()
                .map(|p| p.file_stem().expect("a .py file has a stem").to_string_lossy().into_owned())
                .collect();
            let python: BTreeSet<&str> = python.iter().map(String::as_str).collect();
            assert_eq!(rust, python, "Rust parity pipelines vs tests/parity/*.py");
            assert_eq!(rust, tested, "Rust parity pipelines vs parity_tests! in tests/parity.rs");
            assert!(rust.len() >= 8, "the parity suite needs at least 8 pipelines, has {}", rust.len());
        }
    };
}

parity_tests!(
    params_all_types,
    artifacts_io,
    data_passing,
    resources,
    resources_from_params,
    task_options,
    nested,
    reuse,
    named_outputs,
    tricky_values,
    caching_off_by_default,
    naming_and_nesting,
    hello_pipeline,
    training,
    composition,
    raw_identifiers,
    control_flow,
    control_flow_numbering,
    fan_in,
    collected_nested,
    oneof;
    ignored:
);

/// The diff must see a real change through the noise it ignores: one quantity, written in
/// both resource forms, differs.
#[test]
fn ir_diff_reports_a_changed_quantity() {
    let golden = fs::read_to_string(kfp_ir_dir().join("resources.yaml")).expect("read kfp's resources IR");
    let changed = golden.replace("cpuLimit: 16.0", "cpuLimit: 12.0").replace("resourceCpuLimit: '16'", "resourceCpuLimit: '12'");
    assert_ne!(golden, changed, "kfp's resources IR no longer spells the CPU limit as this test expects");
    let changed_path = scratch().join("resources-changed.yaml");
    support::write_atomic(&changed_path, &changed);
    let ours = rust_ir("resources");
    let output = run_support_script("ir_diff.py", &[&changed_path, &ours]);
    let text = transcript(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("root.dag.tasks.crunch-heavy-2.component.executor.container.resources.cpuLimit: golden 12.0, ours 16.0"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("\n1 differences"), "{text}");
}

/// A pipeline that sets container settings on a pipeline task, which kfp refuses
/// (`set_cpu_limit can only be used on single-step components`).
mod misuse {
    use kfp::prelude::*;

    #[component(image = "python:3.11")]
    pub fn noop(x: i64) -> Result<()> {
        let _ = x;
        Ok(())
    }

    #[pipeline]
    pub fn wrapped(x: i64) {
        noop(x);
    }

    #[pipeline(name = "misuse")]
    pub fn misuse() {
        wrapped(1).set_cpu_limit("2").set_env_variable("A", "b");
    }
}

#[test]
fn container_settings_on_a_pipeline_task_are_rejected_like_kfp() {
    use kfp::Pipeline;
    use kfp::compiler::compile::{CompileOptions, compile};
    let error = match compile(&misuse::misuse.definition(), &CompileOptions::default()) {
        Ok(_) => panic!("set_cpu_limit on a pipeline task compiled; kfp rejects it"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("task 'wrapped'") && error.contains("`wrapped` is a pipeline"), "{error}");
}

mod empty {
    use kfp::prelude::*;

    #[pipeline(name = "empty")]
    pub fn empty(#[default(1)] x: i64) {
        let _ = x;
    }
}

/// kfp: `ValueError: Task is missing from pipeline.`
#[test]
fn a_pipeline_without_tasks_is_rejected_like_kfp() {
    use kfp::Pipeline;
    use kfp::compiler::compile::{CompileOptions, compile};
    let error = match compile(&empty::empty.definition(), &CompileOptions::default()) {
        Ok(_) => panic!("a pipeline without tasks compiled; kfp rejects it"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("pipeline 'empty'") && error.contains("no tasks"), "{error}");
}

/// A ParallelFor over a OneOf list, which kfp 2.17.3 compiles to IR whose loop reads an output
/// the `condition-branches` DAG never declares (so it is not a parity pair).
mod loop_over_oneof {
    use kfp::prelude::*;

    #[component(image = "python:3.11")]
    pub fn words(n: i64) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[component(image = "python:3.11")]
    pub fn say(message: String) -> String {
        message
    }

    #[pipeline(name = "loop-over-oneof")]
    pub fn loop_over_oneof(flag: String) {
        let (few, many) = If(flag.eq("few"), || words(1)).else_(|| words(3));
        ParallelFor(OneOf([few.outputs.output, many.outputs.output]), |word| say(word));
    }
}

#[test]
fn a_loop_over_a_oneof_reads_a_declared_output_unlike_kfp() {
    use kfp::Pipeline;
    use kfp::compiler::compile::{CompileOptions, compile};
    use kfp::compiler::ir::{ParameterItems, TaskInputParameter};
    let path = scratch().join("loop-over-oneof.yaml");
    compile_to_file(&loop_over_oneof::loop_over_oneof, &CompileOptions::default(), &path);
    let output = run_support_script("validate_ir.py", &[&path]);
    assert!(output.status.success(), "{}", transcript(&output));

    let spec = compile(&loop_over_oneof::loop_over_oneof.definition(), &CompileOptions::default()).unwrap().spec;
    let surfaced = "pipelinechannel--condition-branches-1-oneof-1";
    let branches = &spec.components["comp-condition-branches-1"];
    assert!(branches.output_definitions.parameters.contains_key(surfaced), "{branches:?}");
    let task = &spec.root.dag.as_ref().unwrap().tasks["for-loop-4"];
    let list = format!("pipelinechannel--condition-branches-1-{surfaced}");
    let items = &task.parameter_iterator.as_ref().unwrap().items;
    assert_eq!(items, &ParameterItems::InputParameter(list.clone()));
    match &task.inputs.parameters[&list].source {
        TaskInputParameter::TaskOutputParameter(from) => {
            assert_eq!((from.producer_task.as_str(), from.output_parameter_key.as_str()), ("condition-branches-1", surfaced));
        }
        other => panic!("the loop reads its list from {other:?}"),
    }
}
