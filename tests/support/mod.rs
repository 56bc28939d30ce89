//! Shared by the conformance and parity tests: kfp's Python venv, the Python support scripts
//! next to this file, and compiling pipelines to IR files.

// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use kfp::Pipeline;
use kfp::compiler::compile::{CompileOptions, compile, sanitize_k8s_name, to_yaml};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The python of the kfp 2.17.3 venv that `scripts/kfp-venv.sh` creates once per checkout.
pub fn kfp_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let cache = repo().join(".cache");
        fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("cannot create {}: {e}", cache.display()));
        // Test binaries can run at the same time (nextest); one of them installs, the others wait.
        let lock_path = cache.join("kfp-venv.lock");
        let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
        lock.lock().unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
        let script = repo().join("scripts/kfp-venv.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} failed ({}):\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
}

/// Runs `tests/support/<script>` with kfp's python.
pub fn run_support_script(script: &str, args: &[&Path]) -> Output {
    let path = repo().join("tests/support").join(script);
    Command::new(kfp_python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
}

/// stdout and stderr of a finished script, for assertion messages.
pub fn transcript(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// An empty folder for this test process under the target's scratch space:
/// `<name>-<pid>`, so runners that start one process per test (nextest) do not share files.
/// Folders of earlier runs are removed once they are an hour old.
pub fn fresh_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{name}-");
    for entry in fs::read_dir(root).into_iter().flatten().flatten() {
        let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| {
            t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600))
        });
        if stale && entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    let dir = root.join(format!("{prefix}{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Compiles `pipeline` and writes its YAML to `path` (via a temp file).
pub fn compile_to_file(pipeline: &dyn Pipeline, options: &CompileOptions, path: &Path) {
    let definition = pipeline.definition();
    let spec = compile(&definition, options)
        .unwrap_or_else(|e| panic!("pipeline {:?} does not compile:\n{e}", definition.name));
    let yaml = to_yaml(&spec).unwrap_or_else(|e| panic!("pipeline {:?} does not serialise: {e}", definition.name));
    write_atomic(path, &yaml);
}

pub fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, path))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The file name kfp-rs's compile CLI gives a pipeline.
pub fn file_name(pipeline: &dyn Pipeline) -> String {
    format!("{}.yaml", sanitize_k8s_name(pipeline.definition().name))
}
