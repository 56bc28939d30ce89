//! PyTorchJobs kfp-rs emits, checked against the Training Operator's CRD schema (strict).

#[path = "support/schema.rs"]
mod schema;

use kfp_compiler::compile::LaunchSpec;
use kfp_compiler::dsl::Resources;
use kfp_k8s::pytorchjob::{JobTarget, build};
use schema::PyTorchJobSchema;
use serde_json::{Value, json};

fn spec(nodes: u32, nproc_per_node: u32, gpu: bool) -> LaunchSpec {
    LaunchSpec {
        nodes,
        nproc_per_node,
        image: "ghcr.io/acme/trainer:0.1".into(),
        resources: Resources {
            cpu_limit: Some("16".into()),
            cpu_request: Some("8".into()),
            memory_limit: Some("64Gi".into()),
            memory_request: Some("32Gi".into()),
            accelerator_type: gpu.then(|| "nvidia.com/gpu".into()),
            accelerator_limit: gpu.then_some(nproc_per_node),
        },
        env: vec![("NCCL_DEBUG".into(), "INFO".into())],
    }
}

fn target() -> JobTarget {
    JobTarget {
        name: "train-0123456789ab".into(),
        namespace: Some("kubeflow-user".into()),
        component: "train".into(),
        binary: "/usr/local/bin/my-pipelines".into(),
        executor_input: r#"{"inputs":{"parameterValues":{"lr":0.001}}}"#.into(),
        backoff_limit: 0,
        active_deadline_seconds: Some(3600),
        owner_pod: None,
    }
}

fn manifest(spec: &LaunchSpec) -> Value {
    serde_json::to_value(build(spec, &target())).unwrap()
}

#[test]
fn multi_node_gpu_job_is_valid_and_has_master_and_workers() {
    let schema = PyTorchJobSchema::strict();
    let job = manifest(&spec(4, 8, true));
    assert_eq!(schema.errors(&job), Vec::<String>::new());
    assert_eq!(job["apiVersion"], "kubeflow.org/v1");
    assert_eq!(job["kind"], "PyTorchJob");
    assert_eq!(job["spec"]["nprocPerNode"], "8");
    let replicas = &job["spec"]["pytorchReplicaSpecs"];
    assert_eq!(replicas["Master"]["replicas"], 1);
    assert_eq!(replicas["Worker"]["replicas"], 3);
    for role in ["Master", "Worker"] {
        assert_eq!(replicas[role]["restartPolicy"], "OnFailure");
        let container = &replicas[role]["template"]["spec"]["containers"][0];
        assert_eq!(container["name"], "pytorch");
        assert_eq!(container["image"], "ghcr.io/acme/trainer:0.1");
        assert_eq!(container["command"], json!(["/usr/local/bin/my-pipelines"]));
        assert_eq!(
            container["args"],
            json!(["--executor-input", target().executor_input, "--function-to-execute", "train"])
        );
        assert_eq!(container["resources"]["limits"], json!({"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "8"}));
        assert_eq!(container["resources"]["requests"], json!({"cpu": "8", "memory": "32Gi"}));
        assert_eq!(container["env"], json!([{"name": "NCCL_DEBUG", "value": "INFO"}]));
    }
    assert_eq!(
        job["spec"]["runPolicy"],
        json!({"cleanPodPolicy": "Running", "backoffLimit": 0, "activeDeadlineSeconds": 3600})
    );
    assert_eq!(job["metadata"]["name"], "train-0123456789ab");
}

#[test]
fn single_node_cpu_job_has_no_workers_and_no_gpu() {
    let schema = PyTorchJobSchema::strict();
    let job = manifest(&spec(1, 2, false));
    assert_eq!(schema.errors(&job), Vec::<String>::new());
    assert!(job["spec"]["pytorchReplicaSpecs"].get("Worker").is_none());
    let limits =
        &job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits, &json!({"cpu": "16", "memory": "64Gi"}));
}

#[test]
fn the_strict_schema_rejects_typos_and_wrong_types() {
    let schema = PyTorchJobSchema::strict();
    let mut typo = manifest(&spec(2, 1, true));
    typo["spec"]["pytorchReplicaSpecs"]["Worker"]["replica"] = json!(2);
    let errors = schema.errors(&typo);
    assert!(errors.iter().any(|e| e.contains("replica")), "{errors:?}");
    let mut wrong = manifest(&spec(2, 1, true));
    wrong["spec"]["nprocPerNode"] = json!(8);
    let errors = schema.errors(&wrong);
    assert!(errors.iter().any(|e| e.starts_with("/spec/nprocPerNode")), "{errors:?}");
    let mut missing = manifest(&spec(2, 1, true));
    missing["spec"].as_object_mut().unwrap().remove("pytorchReplicaSpecs");
    assert!(!schema.errors(&missing).is_empty());
}

#[test]
fn manifests_round_trip_through_the_typed_structs() {
    let job = build(&spec(3, 4, true), &target());
    let text = serde_json::to_string(&job).unwrap();
    let back: kfp_k8s::pytorchjob::PyTorchJob = serde_json::from_str(&text).unwrap();
    assert_eq!(back, job);
}
