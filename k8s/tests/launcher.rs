//! The launcher against a fake API server on 127.0.0.1 that checks the applied PyTorchJob
//! against the CRD schema and plays it through Created -> Running -> Succeeded or Failed.

mod support;

use kfp_compiler::compile::LaunchSpec;
use kfp_compiler::dsl::Resources;
use kfp_k8s::launcher::{LaunchError, WaitOptions, run_job};
use kfp_k8s::pytorchjob::{JobTarget, PyTorchJob, build};
use std::time::Duration;
use support::fake_api::{FakeApi, NAMESPACE, Script, TOKEN};

fn job() -> PyTorchJob {
    let spec = LaunchSpec {
        nodes: 2,
        nproc_per_node: 4,
        image: "ghcr.io/acme/trainer:0.1".into(),
        resources: Resources {
            memory_limit: Some("32Gi".into()),
            accelerator_type: Some("nvidia.com/gpu".into()),
            accelerator_limit: Some(4),
            ..Default::default()
        },
        env: vec![],
    };
    let target = JobTarget {
        name: "train-00aa11bb22cc".into(),
        namespace: None,
        component: "train".into(),
        binary: "/usr/local/bin/my-pipelines".into(),
        executor_input: "{}".into(),
        backoff_limit: 0,
        active_deadline_seconds: Some(60),
        owner_pod: None,
    };
    build(&spec, &target)
}

fn config(fake: &FakeApi, token: &str) -> kube::Config {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&fake.kubeconfig(token)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime
        .block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()))
        .unwrap()
}

fn fast() -> WaitOptions {
    WaitOptions { poll_interval: Duration::from_millis(10), timeout: Duration::from_secs(30) }
}

#[test]
fn a_job_that_succeeds_is_applied_strictly_and_polled_to_the_end() {
    let fake = FakeApi::start(Script::Succeeds);
    let mut lines = Vec::new();
    let outcome = run_job(config(&fake, TOKEN), &job(), &fast(), &mut |l| lines.push(l.to_owned())).unwrap();
    assert_eq!(outcome.namespace, NAMESPACE, "the kubeconfig's namespace is used");
    assert_eq!(outcome.conditions_seen, ["Created", "Running", "Succeeded"]);
    let requests = fake.requests();
    let path = format!("/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/pytorchjobs/train-00aa11bb22cc");
    assert_eq!(requests[0].method, "PATCH");
    assert_eq!(requests[0].path, path);
    assert!(requests[1..].iter().all(|r| r.method == "GET" && r.path == path), "{requests:?}");
    assert_eq!(requests.len(), 4);
    // What the server stored is the typed job, field for field (plus the server's metadata).
    let mut stored: PyTorchJob = serde_json::from_value(fake.stored_job().unwrap()).unwrap();
    stored.metadata.namespace = None;
    assert_eq!(stored, job());
    assert!(lines.iter().any(|l| l.contains("Succeeded")), "{lines:?}");
}

#[test]
fn a_job_that_fails_reports_the_operators_reason() {
    let fake = FakeApi::start(Script::Fails);
    let error = run_job(config(&fake, TOKEN), &job(), &fast(), &mut |_| {}).unwrap_err();
    match &error {
        LaunchError::Failed { name, reason, message } => {
            assert_eq!(name, "train-00aa11bb22cc");
            assert_eq!(reason, "PyTorchJobFailed");
            assert!(message.contains("Master replica(s) failed"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(error.to_string().contains("PyTorchJob train-00aa11bb22cc failed: PyTorchJobFailed"), "{error}");
    assert!(!fake.deleted(), "a failed job is kept for its logs");
}

#[test]
fn a_job_past_its_timeout_is_deleted() {
    let fake = FakeApi::start(Script::Hangs);
    let options = WaitOptions { poll_interval: Duration::from_millis(10), timeout: Duration::from_millis(150) };
    let error = run_job(config(&fake, TOKEN), &job(), &options, &mut |_| {}).unwrap_err();
    assert!(matches!(&error, LaunchError::TimedOut { last, .. } if last == "Running"), "{error:?}");
    assert!(fake.deleted());
    assert_eq!(fake.requests().last().unwrap().method, "DELETE");
}

#[test]
fn a_refused_submission_names_the_job_and_the_servers_reason() {
    let fake = FakeApi::start(Script::Succeeds);
    let error = run_job(config(&fake, "wrong-token"), &job(), &fast(), &mut |_| {}).unwrap_err();
    assert!(matches!(error, LaunchError::Submit { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("train-00aa11bb22cc") && text.contains("no valid bearer token"), "{text}");
    assert!(fake.stored_job().is_none());
}
