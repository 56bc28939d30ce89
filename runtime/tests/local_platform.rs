//! The local runner with Kubernetes settings: hand-written IR with a platform document
//! (`@TMP@` becomes a temp folder, so mount paths are fresh), real `kfp-test-executor`
//! processes.

use kfp_runtime::local::{LocalError, LocalRunner, RunSummary, load_pipeline, load_platform, mount_env_name};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

/// A fixture with its placeholders filled in, written to `dir`.
fn fixture(name: &str, dir: &Path, fill: &[(&str, String)]) -> PathBuf {
    let template = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let mut text = std::fs::read_to_string(template).unwrap();
    for (placeholder, value) in fill {
        text = text.replace(placeholder, value);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(
    file: &Path,
    root: &Path,
    args: &[&str],
    secrets: Option<&Path>,
    config_maps: Option<&Path>,
) -> Result<RunSummary, LocalError> {
    let spec = load_pipeline(file).unwrap();
    let mut options = common::options(root, args, &spec.root.input_definitions);
    options.platform = load_platform(file).unwrap();
    options.secrets_dir = secrets.map(Path::to_owned);
    options.config_maps_dir = config_maps.map(Path::to_owned);
    options.run_id = Some("r1".into());
    LocalRunner::new(spec, options).run()
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

#[test]
fn volumes_secrets_field_paths_and_notices() {
    let tmp = tempfile::tempdir().unwrap();
    let mounts = tmp.path().join("mounts");
    std::fs::create_dir(&mounts).unwrap();
    let secrets = tmp.path().join("secrets");
    std::fs::create_dir_all(secrets.join("s1")).unwrap();
    std::fs::write(secrets.join("s1/user"), "alice").unwrap();
    let file = fixture(
        "platform_volumes_pipeline.yaml",
        tmp.path(),
        &[
            ("@TMP@", mounts.display().to_string()),
            ("@OTHER_ENV@", mount_env_name(&mounts.join("other"))),
        ],
    );
    let root = tmp.path().join("runs");
    let summary = run(&file, &root, &[], Some(&secrets), None).unwrap();
    // The secret's key as env; the optional secret (absent) is skipped, not an error.
    assert_eq!(summary.outputs.parameters["written"], json!("alice|"));
    // The reader mounts the same claim elsewhere and finds it through its env var.
    assert_eq!(summary.outputs.parameters["read"], json!("reader|hello"));
    assert_eq!(summary.outputs.parameters["scratch"], json!("local|x"));
    let run_dir = root.join("platform-pipeline/r1");
    assert_eq!(
        std::fs::read_to_string(run_dir.join("pvc/shared/sub/data.txt")).unwrap(),
        "hello"
    );
    // createpvc named the volume after the run; deletepvc removed it after `scratch` wrote.
    let created: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("createpvc/task.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(created["outputs"]["parameters"]["name"], "r1-scratch");
    assert!(!exists(&run_dir.join("pvc/r1-scratch")));
    // The mount-path links are gone once the run ended.
    for link in ["shared", "other", "scratch"] {
        assert!(!exists(&mounts.join(link)), "{link} is still there");
    }
    let writer = summary.tasks.iter().find(|t| t.task == "writer").unwrap();
    assert_eq!(
        writer.notices,
        [
            "shared memory (1Gi): the host's /dev/shm is used",
            "ignored locally: node selector, tolerations"
        ]
    );
    let reader = summary.tasks.iter().find(|t| t.task == "reader").unwrap();
    assert!(reader.notices.is_empty());
}

fn task_with(config: serde_json::Value, tmp: &Path) -> PathBuf {
    fixture(
        "platform_task_pipeline.yaml",
        tmp,
        &[
            ("@CONFIG@", config.to_string()),
            ("@TMP@", tmp.display().to_string()),
        ],
    )
}

#[test]
fn a_missing_required_secret_names_task_secret_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = tmp.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let file = task_with(
        json!({"secretAsEnv": [{"keyToEnv": [{"envVar": "K", "secretKey": "k"}], "optional": false,
            "secretNameParameter": {"runtimeValue": {"constant": "s9"}}}]}),
        tmp.path(),
    );
    let err = run(&file, &tmp.path().join("runs"), &[], Some(&secrets), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("task 'probe': secret 's9' key 'k' (env K): "),
        "{err}"
    );
    assert!(
        err.contains(&secrets.join("s9/k").display().to_string()),
        "{err}"
    );
    let err = run(&file, &tmp.path().join("runs"), &[], None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no secret folder; pass --secrets DIR or set KFP_LOCAL_SECRETS"),
        "{err}"
    );
    assert!(
        !exists(&tmp.path().join("probe.txt")),
        "the task must not have run"
    );
}

#[test]
fn an_optional_secret_or_config_map_that_is_missing_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = task_with(
        json!({
            "secretAsEnv": [{"keyToEnv": [{"envVar": "X", "secretKey": "k"}], "optional": true,
                "secretNameParameter": {"runtimeValue": {"constant": "nope"}}}],
            "configMapAsVolume": [{"mountPath": tmp.path().join("cm").display().to_string(), "optional": true,
                "configMapNameParameter": {"runtimeValue": {"constant": "nope"}}}]
        }),
        tmp.path(),
    );
    let summary = run(
        &file,
        &tmp.path().join("runs"),
        &[],
        Some(tmp.path()),
        Some(tmp.path()),
    )
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(summary.run_dir.join("probe/task.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["outputs"]["parameters"]["Output"], "unset|");
    assert!(!exists(&tmp.path().join("cm")));
}

#[test]
fn the_deadline_kills_the_task_and_what_it_started() {
    let tmp = tempfile::tempdir().unwrap();
    let file = task_with(json!({"activeDeadlineSeconds": "1"}), tmp.path());
    let started = Instant::now();
    let err = run(
        &file,
        &tmp.path().join("runs"),
        &["sleep_ms=30000"],
        None,
        None,
    )
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string()
            .starts_with("task 'probe' failed: deadline exceeded after 1 s"),
        "{err}"
    );
    // The executor's own child (a `sleep 60`) went with its process group.
    let child = std::fs::read_to_string(tmp.path().join("probe.child")).unwrap();
    let proc = PathBuf::from(format!("/proc/{}", child.trim()));
    let gone_by = Instant::now() + Duration::from_secs(5);
    while proc.exists() && Instant::now() < gone_by {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !proc.exists(),
        "the executor's child {} is still running",
        child.trim()
    );
}

#[test]
fn unsupported_field_paths_and_occupied_mount_paths_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = task_with(
        json!({"fieldPathAsEnv": [{"fieldPath": "status.podIP", "name": "IP"}]}),
        tmp.path(),
    );
    let err = run(&file, &tmp.path().join("runs"), &[], None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "task 'probe': field path 'status.podIP' (env IP) is not supported locally; only metadata.name and metadata.namespace are"
    );
    let occupied = tmp.path().join("occupied");
    std::fs::write(&occupied, "keep").unwrap();
    let file = task_with(
        json!({"pvcMount": [{"mountPath": occupied.display().to_string(),
            "pvcNameParameter": {"runtimeValue": {"constant": "c"}}}]}),
        tmp.path(),
    );
    let err = run(&file, &tmp.path().join("runs"), &[], None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "task 'probe': cannot mount PVC 'c' at {} (folder ",
            occupied.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("): the path exists, and the local runner never replaces existing paths"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&occupied).unwrap(), "keep");
}

#[test]
fn secret_volumes_config_map_env_and_empty_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    std::fs::create_dir_all(store.join("s1")).unwrap();
    std::fs::write(store.join("s1/user"), "bob").unwrap();
    std::fs::create_dir_all(store.join("cm")).unwrap();
    std::fs::write(store.join("cm/foo"), "bar").unwrap();
    let (creds, scratch) = (tmp.path().join("creds"), tmp.path().join("scratch"));
    let file = task_with(
        json!({
            "secretAsVolume": [{"mountPath": creds.display().to_string(), "optional": false, "secretName": "s1"}],
            "configMapAsEnv": [{"configMapName": "cm", "keyToEnv": [{"configMapKey": "foo", "envVar": "X"}]}],
            "emptyDirMounts": [{"mountPath": scratch.display().to_string(), "volumeName": "tmp"}]
        }),
        tmp.path(),
    );
    let read = format!("read={}/user", creds.display());
    let summary = run(
        &file,
        &tmp.path().join("runs"),
        &[&read],
        Some(&store),
        Some(&store),
    )
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(summary.run_dir.join("probe/task.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["outputs"]["parameters"]["Output"], "bar|bob");
    assert!(summary.run_dir.join("probe/empty-dirs/tmp").is_dir());
    assert!(!exists(&creds) && !exists(&scratch));
    assert_eq!(
        std::fs::read_to_string(store.join("s1/user")).unwrap(),
        "bob"
    );
}
