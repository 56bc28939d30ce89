//! Kubernetes pod settings against kfp-kubernetes 2.17.3: `examples/src/kubernetes.rs` and its
//! Python twin `tests/platform/kubernetes_settings.py` must give the same platform document
//! (exactly, up to key order) and the same pipeline document (semantically, `ir_diff.py`), and
//! ours must parse strictly as kfp's `PlatformSpec` / `KubernetesExecutorConfig` protobufs.

mod support;

use kfp::Pipeline;
use kfp::compiler::compile::{CompileOptions, compile, read_platform_yaml, read_yaml, to_yaml};
use kfp::compiler::ir::PlatformSpec;
use kfp_examples::kubernetes::kubernetes_settings;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::{compile_to_file, fresh_dir, kfp_python, repo, run_support_script, transcript, write_atomic};

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| fresh_dir("platform-parity"))
}

/// kfp + kfp-kubernetes's IR of the Python twin.
fn golden() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let out = scratch().join("kfp.yaml");
        let script = repo().join("tests/platform/kubernetes_settings.py");
        let output = std::process::Command::new(kfp_python())
            .arg(&script)
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(output.status.success(), "kfp could not compile {}:\n{}", script.display(), transcript(&output));
        out
    })
}

fn ours() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let out = scratch().join("ours.yaml");
        compile_to_file(&kubernetes_settings, &CompileOptions::default(), &out);
        out
    })
}

fn run_diff(script: &str, golden: &Path, ours: &Path) -> (Option<i32>, String) {
    let output = run_support_script(script, &[golden, ours]);
    (output.status.code(), transcript(&output))
}

#[test]
fn the_platform_document_is_the_one_kfp_kubernetes_writes() {
    let (code, text) = run_diff("platform_diff.py", golden(), ours());
    assert_eq!(code, Some(0), "kfp ({}) and kfp-rs ({}) platform documents differ:\n{text}", golden().display(), ours().display());
}

#[test]
fn the_pipeline_document_matches_kfp_semantically() {
    let (code, text) = run_diff("ir_diff.py", golden(), ours());
    assert_eq!(code, Some(0), "kfp ({}) and kfp-rs ({}) disagree:\n{text}", golden().display(), ours().display());
}

#[test]
fn the_platform_document_parses_strictly_as_kfp_protobufs() {
    let output = run_support_script("validate_ir.py", &[ours()]);
    assert!(output.status.success(), "validate_ir.py rejected {}:\n{}", ours().display(), transcript(&output));
}

/// The exact diff must see one changed value through the key-order noise it ignores.
#[test]
fn platform_diff_reports_a_changed_value() {
    let text = fs::read_to_string(ours()).expect("read our IR");
    let changed = text.replacen("optional: true", "optional: false", 1);
    assert_ne!(text, changed, "our IR no longer has an optional secret or config map");
    let changed_path = scratch().join("changed.yaml");
    write_atomic(&changed_path, &changed);
    let (code, output) = run_diff("platform_diff.py", golden(), &changed_path);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.trim_end().ends_with("\n1 differences"), "{output}");
}

/// The typed platform structs read kfp's own document (as the local runner will), and
/// what we write reads back to the same value.
#[test]
fn platform_documents_read_back_into_the_typed_structs() {
    let kfp_text = fs::read_to_string(golden()).expect("read kfp's IR");
    let kfp_platform: PlatformSpec =
        read_platform_yaml(&kfp_text).unwrap_or_else(|e| panic!("{e}")).expect("kfp wrote a platform document");
    let compiled = compile(&kubernetes_settings.definition(), &CompileOptions::default()).unwrap();
    let yaml = to_yaml(&compiled).unwrap();
    assert_eq!(read_platform_yaml(&yaml).unwrap(), compiled.platform);
    assert_eq!(read_yaml(&yaml).unwrap(), compiled.spec);
    assert_eq!(Some(kfp_platform), compiled.platform, "kfp's platform document, read with our types, differs from ours");
    let config = compiled.platform.as_ref().unwrap().kubernetes_executor("exec-inspect").expect("exec-inspect has settings");
    assert_eq!(config.active_deadline_seconds, Some(3600));
    assert_eq!(config.node_affinity[0].weight, Some(10));
}

/// `ir_diff.py` ignores images; the PVC steps are recognised by theirs, so those must match.
#[test]
fn pvc_create_and_delete_use_kfp_kubernetes_marker_images() {
    let read = |path: &Path| read_yaml(&fs::read_to_string(path).expect("read IR")).unwrap_or_else(|e| panic!("{e}"));
    let (kfp, ours) = (read(golden()), read(ours()));
    for label in ["exec-createpvc", "exec-deletepvc"] {
        let executor = ours.deployment_spec.executors.get(label);
        assert!(executor.is_some(), "kfp-rs wrote no {label}");
        assert_eq!(executor, kfp.deployment_spec.executors.get(label), "{label}");
    }
}

mod misuse {
    use kfp::kubernetes::{EmptyDir, NodeAffinity, NodeOperator};
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

    #[pipeline(name = "bad-kubernetes")]
    pub fn bad_kubernetes() {
        noop(1)
            .add_node_affinity(NodeAffinity::preferred(0).match_expression("zone", NodeOperator::In, ["a"]))
            .mount_pvc("claim", "data")
            .use_secret_as_env("", [("k", "K")])
            .empty_dir_mount(EmptyDir::new("v", "/v").medium("Disk"));
        wrapped(2).add_pod_label("team", "ml");
    }

    #[pipeline(name = "timeout-removed")]
    pub fn timeout_removed() {
        noop(1).set_timeout(600).set_timeout(0);
    }
}

#[test]
fn bad_kubernetes_settings_are_reported_with_task_and_field() {
    let error = compile(&misuse::bad_kubernetes.definition(), &CompileOptions::default()).unwrap_err().to_string();
    for expected in [
        "kubernetes.node_affinity[0]",
        "weight must be between 1 and 100, got 0",
        "kubernetes.mount_path[0]",
        "\"data\" is not an absolute path",
        "kubernetes.secret_as_env[0].secret_name",
        "the name is empty",
        "kubernetes.empty_dir_mounts[0]",
        "medium \"Disk\"",
        "task 'wrapped'",
        "Kubernetes pod settings apply to container tasks only",
    ] {
        assert!(error.contains(expected), "missing {expected:?} in:\n{error}");
    }
}

/// As in kfp-kubernetes, `set_timeout(0)` removes the deadline; nothing is left to write.
#[test]
fn settings_that_lower_to_nothing_write_no_platform_document() {
    let compiled = compile(&misuse::timeout_removed.definition(), &CompileOptions::default()).unwrap();
    assert_eq!(compiled.platform, None);
    assert!(!to_yaml(&compiled).unwrap().contains("\n---\n"));
}
