//! The relay over 127.0.0.1: the step's inputs reach a job pod and the rank-0 pod's outputs
//! reach the step's pod, whole, only to declared paths, and only with the step's token.

use kfp_k8s::relay::{RelayError, Server, fetch, upload};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kfp-relay-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

fn receiver(outputs: Vec<PathBuf>) -> (Server, String) {
    server(vec![], outputs)
}

fn server(inputs: Vec<PathBuf>, outputs: Vec<PathBuf>) -> (Server, String) {
    let server = Server::start("127.0.0.1:0".parse().unwrap(), "secret".into(), inputs, outputs).unwrap();
    let address = format!("127.0.0.1:{}", server.port());
    (server, address)
}

#[test]
fn outputs_arrive_whole_and_replace_the_steps_files() {
    let scratch = Scratch::new("whole");
    let metadata = scratch.0.join("tmp/kfp_outputs/output_metadata.json");
    let parameter = scratch.0.join("tmp/kfp/outputs/Output");
    let model = scratch.0.join("minio/mlpipeline/run/train/model");
    write(&metadata, r#"{"parameterValues":{"Output":0.25}}"#);
    write(&parameter, "0.25");
    write(&model.join("weights.bin"), &"w".repeat(100_000));
    write(&model.join("config/model.json"), "{}");
    let missing = scratch.0.join("minio/mlpipeline/run/train/never_written");
    let before = [inode(&metadata), inode(&model.join("weights.bin"))];

    let allowed = vec![metadata.clone(), parameter.clone(), model.clone(), missing.clone()];
    let (receiver, address) = receiver(allowed.clone());
    let files = upload(&address, "secret", &allowed).unwrap();
    assert_eq!(files, 4, "the missing output is skipped, the directory is walked");
    let mut written = receiver.finish().expect("an upload arrived");
    written.sort();
    let mut expected =
        vec![metadata.clone(), parameter.clone(), model.join("config/model.json"), model.join("weights.bin")];
    expected.sort();
    assert_eq!(written, expected);
    // Rewritten by the receiver (a new file renamed into place), with the same bytes.
    assert_ne!([inode(&metadata), inode(&model.join("weights.bin"))], before);
    assert_eq!(std::fs::read_to_string(&metadata).unwrap(), r#"{"parameterValues":{"Output":0.25}}"#);
    assert_eq!(std::fs::read_to_string(model.join("weights.bin")).unwrap().len(), 100_000);
    assert!(!missing.exists());
}

#[test]
fn a_path_that_is_not_a_declared_output_is_refused_and_nothing_is_written() {
    let scratch = Scratch::new("outside");
    let output = scratch.0.join("out/result");
    let elsewhere = scratch.0.join("etc/passwd");
    write(&output, "1");
    write(&elsewhere, "x");
    let before = inode(&output);
    let (receiver, address) = receiver(vec![output.clone()]);
    let error = upload(&address, "secret", &[output.clone(), elsewhere.clone()]).unwrap_err();
    assert!(
        matches!(&error, RelayError::Refused(reason) if reason.contains("is not among the paths this transfer may write")),
        "{error}"
    );
    assert_eq!(inode(&output), before, "the accepted part of a refused upload is not committed");
    assert!(std::fs::read_dir(output.parent().unwrap()).unwrap().count() == 1, "no staging file is left");
    assert_eq!(receiver.finish(), None);
}

#[test]
fn a_wrong_token_is_refused_and_the_receiver_keeps_waiting() {
    let scratch = Scratch::new("token");
    let output = scratch.0.join("out/result");
    write(&output, "1");
    let (receiver, address) = receiver(vec![output.clone()]);
    let error = upload(&address, "guess", std::slice::from_ref(&output)).unwrap_err();
    assert!(matches!(&error, RelayError::Refused(reason) if reason == "bad token"), "{error}");
    assert_eq!(upload(&address, "secret", std::slice::from_ref(&output)).unwrap(), 1);
    assert_eq!(receiver.finish(), Some(vec![output]));
}

#[test]
fn an_unreachable_step_is_named() {
    let (receiver, address) = receiver(vec![]);
    drop(receiver.finish());
    let error = upload(&address, "secret", &[]).unwrap_err();
    assert!(error.to_string().contains(&address), "{error}");
}

#[test]
fn every_pod_fetches_the_inputs_and_only_declared_paths_are_written() {
    let scratch = Scratch::new("fetch");
    let dataset = scratch.0.join("gcs/bucket/data");
    write(&dataset.join("part-0.csv"), "a,b\n1,2\n");
    write(&dataset.join("part-1.csv"), "3,4\n");
    let single = scratch.0.join("minio/mlpipeline/run/prepare/stats");
    write(&single, "rows=2");
    let before = inode(&single);
    let (server, address) = server(vec![dataset.clone(), single.clone()], vec![]);
    let wanted = vec![dataset.clone(), single.clone()];
    for pod in 0..2 {
        let mut written = fetch(&address, "secret", &wanted).unwrap();
        written.sort();
        assert_eq!(written, [dataset.join("part-0.csv"), dataset.join("part-1.csv"), single.clone()]);
        if pod == 0 {
            // The staged copy existed beside the original, so a new inode means it was written.
            assert_ne!(inode(&single), before, "written by the fetch");
        }
    }
    assert_eq!(std::fs::read_to_string(dataset.join("part-0.csv")).unwrap(), "a,b\n1,2\n");
    // A pod that declares fewer inputs refuses what it did not ask for, and keeps nothing.
    let error = fetch(&address, "secret", std::slice::from_ref(&single)).unwrap_err();
    assert!(error.to_string().contains("is not among the paths this transfer may write"), "{error}");
    let error = fetch(&address, "guess", &wanted).unwrap_err();
    assert!(matches!(&error, RelayError::Refused(reason) if reason == "bad token"), "{error}");
    assert_eq!(server.finish(), None, "fetches upload nothing");
}
