//! The output relay over 127.0.0.1: a rank-0 pod's outputs reach the step's pod whole, only
//! to declared output paths, and only with the step's token.

use kfp_k8s::relay::{Receiver, RelayError, send};
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

fn receiver(allowed: Vec<PathBuf>) -> (Receiver, String) {
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), "secret".into(), allowed).unwrap();
    let address = format!("127.0.0.1:{}", receiver.port());
    (receiver, address)
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
    let files = send(&address, "secret", &allowed).unwrap();
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
    let error = send(&address, "secret", &[output.clone(), elsewhere.clone()]).unwrap_err();
    assert!(
        matches!(&error, RelayError::Refused(reason) if reason.contains("is not an output path of this step")),
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
    let error = send(&address, "guess", &[output.clone()]).unwrap_err();
    assert!(matches!(&error, RelayError::Refused(reason) if reason == "bad token"), "{error}");
    assert_eq!(send(&address, "secret", &[output.clone()]).unwrap(), 1);
    assert_eq!(receiver.finish(), Some(vec![output]));
}

#[test]
fn an_unreachable_step_is_named() {
    let (receiver, address) = receiver(vec![]);
    drop(receiver.finish());
    let error = send(&address, "secret", &[]).unwrap_err();
    assert!(error.to_string().contains(&address), "{error}");
}
