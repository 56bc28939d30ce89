//! Every pipeline kfp-rs ships (the examples and the parity pipelines) compiles to IR that
//! upstream accepts (`tests/support/validate_ir.py`: kfp 2.17.3's protobuf schema and loader,
//! plus graph checks) and that matches the committed JSON Schema of kfp-rs's IR structs
//! (`schemas/pipeline_spec.schema.json`; `KFP_UPDATE_SCHEMA=1` rewrites it).

mod parity_pipelines;
mod support;

use kfp::Pipeline;
use kfp::compiler::compile::CompileOptions;
use kfp::compiler::ir::PipelineSpec;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::{compile_to_file, file_name, fresh_dir, run_support_script, transcript, write_atomic};

const SCHEMA_FILE: &str = "schemas/pipeline_spec.schema.json";

/// The examples (by the compile CLI's file name) and the parity pipelines (by their stem).
fn pipelines() -> Vec<(String, &'static dyn Pipeline, CompileOptions)> {
    let examples = kfp_examples::PIPELINES.iter().map(|p| (file_name(*p), *p, CompileOptions::default()));
    let parity = parity_pipelines::PARITY.iter().map(|t| (format!("parity-{}.yaml", t.stem), t.pipeline, t.options()));
    examples.chain(parity).collect()
}

/// Every pipeline compiled once, into this test binary's scratch space.
fn compiled() -> &'static [PathBuf] {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = fresh_dir("conformance");
        pipelines()
            .into_iter()
            .map(|(name, pipeline, options)| {
                let path = dir.join(name);
                compile_to_file(pipeline, &options, &path);
                path
            })
            .collect()
    })
}

fn validate(files: &[PathBuf]) -> (Option<i32>, String) {
    let args: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let output = run_support_script("validate_ir.py", &args);
    (output.status.code(), transcript(&output))
}

#[test]
fn compiled_pipelines_pass_upstream_validation() {
    let files = compiled();
    assert!(files.len() >= 10, "expected the examples and the parity pipelines, got {files:?}");
    let (code, text) = validate(files);
    assert_eq!(code, Some(0), "validate_ir.py rejected kfp-rs output:\n{text}");
    for file in files {
        assert!(text.contains(&format!("OK {}\n", file.display())), "no verdict for {}:\n{text}", file.display());
    }
}

/// The validator must fail for the reasons it claims to check, so that passing means something.
#[test]
fn validator_rejects_broken_ir() {
    let training = compiled()
        .iter()
        .find(|p| p.ends_with("training-pipeline.yaml"))
        .expect("the training example is compiled");
    let text = fs::read_to_string(training).expect("read the compiled training pipeline");
    let dir = fresh_dir("broken-ir");
    let cases = [
        ("unknown-field", ("cpuLimit: 8.0", "cpuLimits: 8.0"), "has no field named \"cpuLimits\""),
        ("dangling-producer", ("producerTask: load-data", "producerTask: nowhere"), "'nowhere' is not a task of this DAG"),
        ("mistyped-constant", ("constant: 10", "constant: ten"), "constant 'ten' is not a NUMBER_INTEGER"),
        (
            "missing-required-input",
            ("            epochs:\n              runtimeValue:\n                constant: 10\n", ""),
            "does not supply required input parameters.epochs",
        ),
        (
            "undeclared-placeholder",
            ("        - load_data\n", "        - \"{{$.inputs.parameters['nope']}}\"\n"),
            "placeholder reads inputs.parameters['nope']",
        ),
        ("wrong-schema-version", ("schemaVersion: \"2.1.0\"", "schemaVersion: \"2.0.0\""), "the API server wants '2.1.0'"),
    ];
    let mut files = Vec::new();
    for (name, (from, to), _) in &cases {
        assert!(text.contains(from), "the training IR no longer contains {from:?}; update case {name}");
        let path = dir.join(format!("{name}.yaml"));
        write_atomic(&path, &text.replacen(from, to, 1));
        files.push(path);
    }
    let (code, output) = validate(&files);
    assert_eq!(code, Some(1), "{output}");
    for ((name, _, reason), path) in cases.iter().zip(&files) {
        let line = output
            .lines()
            .find(|l| l.starts_with(&format!("FAIL {}:", path.display())))
            .unwrap_or_else(|| panic!("case {name} was not rejected:\n{output}"));
        assert!(line.contains(reason), "case {name}: expected {reason:?} in\n{line}");
    }
}

fn generated_schema() -> String {
    let schema = schemars::schema_for!(PipelineSpec);
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON Schema serialises");
    text.push('\n');
    text
}

#[test]
fn committed_schema_matches_the_ir_structs() {
    let path = support::repo().join(SCHEMA_FILE);
    let generated = generated_schema();
    if std::env::var_os("KFP_UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        write_atomic(&path, &generated);
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}; create it with KFP_UPDATE_SCHEMA=1 cargo test --test upstream_conformance", path.display())
    });
    assert!(
        committed == generated,
        "{SCHEMA_FILE} is out of date with compiler/src/ir; regenerate it with \
         KFP_UPDATE_SCHEMA=1 cargo test --test upstream_conformance committed_schema"
    );
}

fn schema_validator() -> jsonschema::Validator {
    let path = support::repo().join(SCHEMA_FILE);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let schema: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()))
}

/// The pipeline document of an IR file, as JSON.
fn pipeline_document(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let docs = kfp::compiler::compile::yaml_documents(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    docs.into_iter().next().unwrap_or_else(|| panic!("{} has no YAML document", path.display()))
}

fn schema_errors(validator: &jsonschema::Validator, document: &serde_json::Value) -> Vec<String> {
    validator.iter_errors(document).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn compiled_pipelines_match_the_schema() {
    let validator = schema_validator();
    for path in compiled() {
        let errors = schema_errors(&validator, &pipeline_document(path));
        assert!(errors.is_empty(), "{} does not match {SCHEMA_FILE}:\n{}", path.display(), errors.join("\n"));
    }
}

#[test]
fn schema_rejects_unknown_and_mistyped_fields() {
    let validator = schema_validator();
    let training = compiled().iter().find(|p| p.ends_with("training-pipeline.yaml")).expect("training compiled");
    let document = pipeline_document(training);

    let mut unknown = document.clone();
    unknown["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]["cpuLimits"] = 8.0.into();
    let errors = schema_errors(&validator, &unknown);
    assert!(errors.iter().any(|e| e.contains("cpuLimits")), "unknown field accepted: {errors:?}");

    let mut mistyped = document;
    mistyped["root"]["inputDefinitions"]["parameters"]["lr"]["parameterType"] = "FLOAT".into();
    let errors = schema_errors(&validator, &mistyped);
    assert!(!errors.is_empty(), "parameterType FLOAT accepted");
}
