//! A distributed component compiles to a PyTorchJob launcher step, and `compile --pytorchjob`
//! and `compile --dockerfile` write a manifest (valid against the Training Operator's CRD
//! schema) and a Dockerfile that agree with the IR's executors.

#[path = "../k8s/tests/support/schema.rs"]
mod schema;

use kfp::app::{CompileArgs, DeployArgs, compile_deploy};
use kfp::compiler::compile::{CompileOptions, LAUNCH_FLAG, LaunchSpec, compile};
use kfp::prelude::*;
use serde_json::{Value, json};

/// Prepares the data on one machine.
#[component(image = "ghcr.io/acme/trainer:0.1", binary = "/opt/app/pipelines")]
fn prepare(rows: i64) -> i64 {
    rows
}

/// Trains with DDP on 4 nodes x 8 GPUs.
#[component(
    image = "ghcr.io/acme/trainer:0.1",
    binary = "/opt/app/pipelines",
    cpu_limit = "32",
    memory_limit = "256Gi",
    accelerator = "nvidia.com/gpu",
    distributed(nodes = 4, nproc_per_node = 8)
)]
fn train(rows: i64, lr: f64) -> f64 {
    lr * rows as f64
}

#[pipeline(name = "ddp-pipeline")]
fn ddp_pipeline(lr: f64) {
    let data = prepare(100);
    train(data.outputs.output, lr).set_env_variable("NCCL_DEBUG", "INFO").set_memory_request("128Gi");
}

#[pipeline(name = "bad-ddp")]
fn bad_ddp() {
    train(1, 0.1).set_accelerator_limit(2);
}

fn executor(spec: &Value, name: &str) -> Value {
    spec["deploymentSpec"]["executors"][name]["container"].clone()
}

#[test]
fn a_distributed_component_runs_its_binary_as_the_pytorchjob_launcher() {
    let spec =
        serde_json::to_value(compile(&ddp_pipeline.definition(), &CompileOptions::default()).unwrap().spec).unwrap();
    let train = executor(&spec, "exec-train");
    let args: Vec<String> = serde_json::from_value(train["args"].clone()).unwrap();
    assert_eq!(args[0], LAUNCH_FLAG);
    assert_eq!(args[args.len() - 4..], ["--executor-input", "{{$}}", "--function-to-execute", "train"]);
    assert_eq!(train["command"], json!(["/opt/app/pipelines"]));
    assert!(train.get("resources").is_none(), "the launcher pod asks for no GPU: {train}");
    let (launch, rest) = LaunchSpec::parse_args(&args).unwrap();
    assert_eq!(rest, ["--executor-input", "{{$}}", "--function-to-execute", "train"]);
    assert_eq!((launch.nodes, launch.nproc_per_node), (4, 8));
    assert_eq!(launch.image, "ghcr.io/acme/trainer:0.1");
    assert_eq!(launch.resources.memory_request.as_deref(), Some("128Gi"), "task overrides reach the pods");
    assert_eq!(launch.resources.accelerator_limit, Some(8));
    assert_eq!(launch.env, [("NCCL_DEBUG".to_owned(), "INFO".to_owned())]);
    // Other components keep the plain executor.
    let prepare = executor(&spec, "exec-prepare");
    assert_eq!(prepare["args"], json!(["--executor-input", "{{$}}", "--function-to-execute", "prepare"]));
}

#[test]
fn an_accelerator_count_other_than_nproc_per_node_is_refused() {
    let errors = compile(&bad_ddp.definition(), &CompileOptions::default()).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains(
            "task 'train', accelerator_limit: 2 accelerators per pod conflicts with distributed(nproc_per_node = 8)"
        ),
        "{text}"
    );
}

fn compile_args() -> CompileArgs {
    CompileArgs { out: "unused".into(), pipelines: vec![], list: false, check: false, disable_caching: false }
}

#[test]
fn compile_pytorchjob_writes_a_valid_manifest_that_runs_the_irs_binary() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("jobs");
    let deploy = DeployArgs { pytorchjob: Some(dir.clone()), ..Default::default() };
    let lines = compile_deploy(&[&ddp_pipeline], &compile_args(), &deploy).unwrap();
    assert_eq!(lines, [dir.join("ddp-pipeline-1-train.yaml").display().to_string()]);
    let text = std::fs::read_to_string(dir.join("ddp-pipeline-1-train.yaml")).unwrap();
    let job: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(schema::PyTorchJobSchema::strict().errors(&job), Vec::<String>::new(), "{text}");
    let ir =
        serde_json::to_value(compile(&ddp_pipeline.definition(), &CompileOptions::default()).unwrap().spec).unwrap();
    let train = executor(&ir, "exec-train");
    let replicas = &job["spec"]["pytorchReplicaSpecs"];
    assert_eq!(replicas["Worker"]["replicas"], 3);
    let container = &replicas["Master"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], train["command"]);
    assert_eq!(container["image"], train["image"]);
    assert_eq!(container["args"], json!(["--executor-input", "{{$}}", "--function-to-execute", "train"]));
    assert_eq!(container["resources"]["limits"]["nvidia.com/gpu"], "8");
    assert_eq!(job["spec"]["nprocPerNode"], "8", "a YAML string, not a number");
}

#[test]
fn compile_dockerfile_builds_the_binary_at_the_path_and_image_the_ir_names() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("Dockerfile");
    let deploy = DeployArgs {
        dockerfile: Some(path.clone()),
        package: Some("acme-pipelines".into()),
        bin: Some("pipelines".into()),
        ..Default::default()
    };
    compile_deploy(&[&ddp_pipeline], &compile_args(), &deploy).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let ir =
        serde_json::to_value(compile(&ddp_pipeline.definition(), &CompileOptions::default()).unwrap().spec).unwrap();
    for name in ["exec-train", "exec-prepare"] {
        let container = executor(&ir, name);
        let binary = container["command"][0].as_str().unwrap();
        let image = container["image"].as_str().unwrap();
        assert!(text.contains(&format!("COPY --from=build /out/pipelines {binary}\n")), "{text}");
        assert!(text.contains(&format!("-t {image}")), "{text}");
    }
    assert!(text.contains("--package acme-pipelines --bin pipelines --features kfp/launcher"), "{text}");
    assert!(text.contains("torch==2.13.0"), "{text}");
}

#[test]
fn compile_pytorchjob_without_a_distributed_component_is_an_error() {
    let scratch = tempfile::tempdir().unwrap();
    let deploy = DeployArgs { pytorchjob: Some(scratch.path().join("jobs")), ..Default::default() };
    let error = compile_deploy(&[&plain_pipeline], &compile_args(), &deploy).unwrap_err();
    assert!(error.to_string().contains("no selected pipeline has a distributed component"), "{error}");
    assert!(!scratch.path().join("jobs").exists());
}

#[pipeline(name = "plain")]
fn plain_pipeline() {
    prepare(1);
}
