//! The step's launcher end to end against the fake API server: it names the job after
//! KFP_POD_UID, gives the pods the relay's address and token, serves the inputs, takes the
//! outputs, fails when a job succeeds without sending them, and deletes its job when stopped.
//! One test: it sets process env and sends itself SIGTERM.

mod support;

use kfp_k8s::relay;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use support::fake_api::{FakeApi, Script, TOKEN};

fn args() -> Vec<String> {
    [
        "--launch-pytorchjob",
        "--nodes=2",
        "--nproc-per-node=1",
        "--image=ghcr.io/acme/trainer:0.1",
        "--executor-input",
        r#"{"outputs":{}}"#,
        "--function-to-execute",
        "train",
    ]
    .map(String::from)
    .to_vec()
}

fn env_of(job: &Value, name: &str) -> String {
    let env =
        job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    env.iter().find(|e| e["name"] == name).unwrap()["value"].as_str().unwrap().to_owned()
}

fn wait_for_job(fake: &FakeApi) -> Value {
    for _ in 0..500 {
        if let Some(job) = fake.stored_job() {
            return job;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the launcher applied no job");
}

fn use_fake(fake: &FakeApi, dir: &Path) {
    let kubeconfig = dir.join(format!("kubeconfig-{}", fake.url.rsplit(':').next().unwrap()));
    std::fs::write(&kubeconfig, fake.kubeconfig(TOKEN)).unwrap();
    // SAFETY: this test binary has a single test, so no other thread reads the environment.
    unsafe { std::env::set_var("KUBECONFIG", &kubeconfig) };
}

#[test]
fn the_launcher_relays_inputs_and_outputs_and_requires_the_outputs() {
    let dir = std::env::temp_dir().join(format!("kfp-launcher-main-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // SAFETY: as above.
    unsafe {
        std::env::set_var("KFP_OUTPUT_RELAY_HOST", "127.0.0.1");
        std::env::set_var("KFP_POD_UID", "3f1c-uid");
        std::env::set_var("KFP_POD_NAME", "ddp-run-train-driver-123");
    }
    let input = dir.join("gcs/bucket/data.csv");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    std::fs::write(&input, "x,y\n1,2\n").unwrap();
    let output = dir.join("tmp/outputs/output_metadata.json");

    // A job whose Master pod fetches the inputs and uploads its outputs.
    let fake = FakeApi::start(Script::SucceedsWhenReleased);
    use_fake(&fake, &dir);
    let pod = {
        let (input, output) = (input.clone(), output.clone());
        let probe = fake.clone();
        std::thread::spawn(move || -> Value {
            let job = wait_for_job(&probe);
            let (address, token) = (env_of(&job, relay::ADDRESS_ENV), env_of(&job, relay::TOKEN_ENV));
            let fetched = relay::fetch(&address, &token, std::slice::from_ref(&input)).unwrap();
            assert_eq!(fetched, [input]);
            std::fs::create_dir_all(output.parent().unwrap()).unwrap();
            std::fs::write(&output, r#"{"parameterValues":{"Output":1.5}}"#).unwrap();
            assert_eq!(relay::upload(&address, &token, &[output]).unwrap(), 1);
            probe.release();
            job
        })
    };
    let status = kfp_k8s::launcher_main(&args(), std::slice::from_ref(&input), std::slice::from_ref(&output));
    let job = pod.join().unwrap();
    assert_eq!(status, ExitCode::SUCCESS);
    assert_eq!(job["metadata"]["name"], kfp_k8s::pytorchjob::job_name("train", "3f1c-uid"));
    assert_eq!(job["metadata"]["namespace"], support::fake_api::NAMESPACE);
    assert_eq!(
        job["metadata"]["ownerReferences"],
        serde_json::json!([{"apiVersion": "v1", "kind": "Pod", "name": "ddp-run-train-driver-123", "uid": "3f1c-uid"}]),
        "deleting the step's pod deletes the job"
    );
    let container = &job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][1], r#"{"outputs":{}}"#, "the pods get the step's executor input");
    assert_eq!(container["command"][0], std::env::current_exe().unwrap().display().to_string());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), r#"{"parameterValues":{"Output":1.5}}"#);

    // A job that succeeds without sending the outputs fails the step.
    let fake = FakeApi::start(Script::Succeeds);
    use_fake(&fake, &dir);
    let missing: Vec<PathBuf> = vec![dir.join("tmp/outputs/never_sent.json")];
    assert_eq!(kfp_k8s::launcher_main(&args(), &[], &missing), ExitCode::FAILURE);

    // A step stopped while its job runs (KFP terminating the run) deletes the job.
    let fake = FakeApi::start(Script::Hangs);
    use_fake(&fake, &dir);
    let stopper = {
        let probe = fake.clone();
        std::thread::spawn(move || {
            wait_for_job(&probe);
            let pid = std::process::id().to_string();
            assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        })
    };
    assert_eq!(kfp_k8s::launcher_main(&args(), &[], &[]), ExitCode::FAILURE);
    stopper.join().unwrap();
    assert!(fake.deleted(), "the job was deleted");
    let _ = std::fs::remove_dir_all(&dir);
}
