//! Resources read at run time (`set_cpu_limit(param)`) beyond what kfp 2.17 compiles correctly,
//! and the misuses the compiler refuses. The kfp-shaped cases are the parity pair
//! `resources_from_params`.
//!
//! kfp leaves a resource channel used inside a condition or loop dangling (its group does not
//! receive it; for a task output it crashes), and a struct item's field loses its selector;
//! kfp-rs passes them down like any other input, so the IR must pass upstream validation.

mod support;

use kfp::app::{CompileArgs, DeployArgs, compile_deploy};
use kfp::compiler::compile::{CompileOptions, LaunchSpec, compile};
use kfp::compiler::ir::{PipelineTaskSpec, TaskInputParameter};
use kfp::prelude::*;
use support::{compile_to_file, fresh_dir, run_support_script, transcript};

#[component(image = "img")]
fn crunch(size: i64) -> i64 {
    size
}

#[component(image = "img")]
fn pick_cpu() -> String {
    "2".into()
}

#[component(image = "img")]
fn flip() -> String {
    "heads".into()
}

/// Has an input named like the one kfp adds for a CPU limit read from a channel.
#[component(image = "img")]
fn sized(cpu_limit: String) -> String {
    cpu_limit
}

#[pipeline]
fn inner(size: i64) {
    crunch(size);
}

#[component(image = "img", accelerator = "nvidia.com/gpu", distributed(nodes = 2, nproc_per_node = 4))]
fn train_ddp(size: i64) -> i64 {
    size
}

#[pipeline(name = "resources-in-groups")]
fn resources_in_groups(#[default("4")] cpu: String, #[default("8Gi")] memory: String) {
    let picked = pick_cpu();
    let coin = flip();
    If(coin.outputs.output.eq("heads"), || {
        crunch(1).set_cpu_limit(picked.outputs.output).set_memory_limit(memory);
    });
    ParallelFor(vec![serde_json::json!({"cpu": "1", "memory": "1Gi"})], |item| {
        crunch(2)
            .set_cpu_limit(item.field::<String>("cpu"))
            .set_memory_request(item.field::<String>("memory"))
            .set_memory_limit(memory);
    });
}

fn task<'s>(spec: &'s kfp::compiler::ir::PipelineSpec, component: Option<&str>, key: &str) -> &'s PipelineTaskSpec {
    let dag = match component {
        None => spec.root.dag.as_ref(),
        Some(name) => spec.components[name].dag.as_ref(),
    };
    &dag.unwrap_or_else(|| panic!("{component:?} has no dag")).tasks[key]
}

fn source(task: &PipelineTaskSpec, input: &str) -> String {
    let spec = task.inputs.parameters.get(input).unwrap_or_else(|| panic!("no input {input}"));
    let text = match &spec.source {
        TaskInputParameter::ComponentInputParameter(name) => format!("input {name}"),
        TaskInputParameter::TaskOutputParameter(output) => {
            format!("output {}.{}", output.producer_task, output.output_parameter_key)
        }
        TaskInputParameter::RuntimeValue(value) => format!("constant {}", value.constant),
        TaskInputParameter::TaskFinalStatus(status) => format!("status of {}", status.producer_task),
    };
    match &spec.parameter_expression_selector {
        Some(selector) => format!("{text} | {selector}"),
        None => text,
    }
}

#[test]
fn channels_reach_tasks_inside_conditions_and_loops_through_their_groups() {
    let spec = compile(&resources_in_groups.definition(), &CompileOptions::default()).unwrap().spec;
    // The condition receives the upstream output and the parameter, and depends on the producer.
    let condition = task(&spec, None, "condition-1");
    assert_eq!(source(condition, "pipelinechannel--pick-cpu-Output"), "output pick-cpu.Output");
    assert_eq!(source(condition, "pipelinechannel--memory"), "input memory");
    assert!(condition.dependent_tasks.contains(&"pick-cpu".to_owned()), "{:?}", condition.dependent_tasks);
    let inside = task(&spec, Some("comp-condition-1"), "crunch");
    assert_eq!(source(inside, "pipelinechannel--pick-cpu-Output"), "input pipelinechannel--pick-cpu-Output");
    assert_eq!(source(inside, "cpu_limit"), "constant \"{{$.inputs.parameters['pipelinechannel--pick-cpu-Output']}}\"");
    // Each field of a struct item is its own input, read through a selector.
    let looped = task(&spec, Some("comp-for-loop-3"), "crunch-2");
    assert_eq!(
        source(looped, "pipelinechannel--loop-item-param-2-subvar-cpu"),
        "input pipelinechannel--loop-item-param-2 | parseJson(string_value)[\"cpu\"]"
    );
    assert_eq!(
        source(looped, "memory_request"),
        "constant \"{{$.inputs.parameters['pipelinechannel--loop-item-param-2-subvar-memory']}}\""
    );
    assert_eq!(source(looped, "pipelinechannel--memory"), "input pipelinechannel--memory");
    let executor = &spec.deployment_spec.executors["exec-crunch-2"];
    let resources = executor.container.as_ref().unwrap().resources.as_ref().unwrap();
    assert_eq!(
        resources.resource_cpu_limit.as_deref(),
        Some("{{$.inputs.parameters['pipelinechannel--loop-item-param-2-subvar-cpu']}}")
    );
    assert_eq!(resources.cpu_limit, None);
}

#[test]
fn channels_inside_groups_pass_upstream_validation() {
    let path = fresh_dir("resources-in-groups").join("resources-in-groups.yaml");
    compile_to_file(&resources_in_groups, &CompileOptions::default(), &path);
    let output = run_support_script("validate_ir.py", &[&path]);
    assert!(output.status.success(), "{}", transcript(&output));
}

#[pipeline(name = "bad-resource-channels")]
fn bad_resource_channels(#[default("4")] cpu: String, #[default(8)] gpus: i64) {
    let mut from_loop = None;
    ParallelFor(vec![1_i64, 2], |_| from_loop = Some(pick_cpu().outputs.output));
    crunch(1).set_cpu_limit(from_loop.expect("the loop body ran"));
    sized("x".to_string()).set_cpu_limit(cpu);
    crunch(2).set_accelerator_type("nvidia.com/gpu").set_accelerator_limit("two");
    inner(3).set_memory_limit(cpu);
    train_ddp(4).set_cpu_limit(cpu).set_accelerator_limit(gpus);
    crunch(5).set_cpu_limit("lots").set_memory_request(cpu);
    crunch(6).set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(-1);
}

#[test]
fn misused_resource_channels_are_reported_by_task_and_setting() {
    let errors = compile(&bad_resource_channels.definition(), &CompileOptions::default()).unwrap_err();
    let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    let expect = |fragments: &[&str]| {
        assert!(
            lines.iter().any(|line| fragments.iter().all(|f| line.contains(f))),
            "no error with {fragments:?} in\n{}",
            lines.join("\n")
        );
    };
    expect(&["task 'crunch'", "cpu_limit: uses an output of a task it cannot see"]);
    expect(&["task 'sized'", "cpu_limit:", "`sized` has an input of that name"]);
    expect(&["task 'crunch-2'", "accelerator_limit: \"two\" is not a non-negative integer"]);
    expect(&["task 'inner'", "`inner` is a pipeline"]);
    expect(&["task 'train-ddp'", "accelerator_limit: a distributed component gets one accelerator per process"]);
    // A bad literal is still refused next to a channel.
    expect(&["task 'crunch-3'", "cpu_limit: \"lots\" is not a CPU quantity"]);
    expect(&["task 'crunch-4'", "accelerator_limit: -1 is not a non-negative integer"]);
    assert_eq!(lines.len(), 7, "{}", lines.join("\n"));
}

/// Both validators (kfp-rs's own and upstream's) see a resource placeholder whose input the task
/// does not give.
#[test]
fn a_resource_placeholder_without_its_input_is_rejected() {
    let dir = fresh_dir("resources-missing-input");
    let path = dir.join("resources-in-groups.yaml");
    compile_to_file(&resources_in_groups, &CompileOptions::default(), &path);
    let text = std::fs::read_to_string(&path).unwrap();
    let given = "              pipelinechannel--memory:\n                componentInputParameter: pipelinechannel--memory\n";
    assert!(text.contains(given), "the compiled IR no longer passes pipelinechannel--memory this way");
    let broken = dir.join("broken.yaml");
    support::write_atomic(&broken, &text.replacen(given, "", 1));

    let output = run_support_script("validate_ir.py", &[&broken]);
    let verdict = transcript(&output);
    assert_eq!(output.status.code(), Some(1), "{verdict}");
    assert!(
        verdict.contains("its resources read inputs.parameters['pipelinechannel--memory'], which the task does not supply"),
        "{verdict}"
    );

    let spec = kfp::compiler::compile::read_yaml(&std::fs::read_to_string(&broken).unwrap()).unwrap();
    let problems: Vec<String> = kfp::compiler::compile::validate(&spec).unwrap_err().iter().map(ToString::to_string).collect();
    let at = "components.comp-condition-1.dag.tasks.crunch.inputs.parameters";
    assert!(
        problems.contains(&format!(
            "{at}: its container's resources.resourceMemoryLimit reads input \"pipelinechannel--memory\", which the task does not give"
        )),
        "{problems:?}"
    );
    assert!(
        problems.contains(&format!(
            "{at}.memory_limit: holds the placeholder of input \"pipelinechannel--memory\", which the task does not give"
        )),
        "{problems:?}"
    );
}

/// `add` of `kfp-test-executor`, the component binary of the runtime's local-runner tests.
#[component(image = "example.com/kfp-test-executor:latest", binary = "/usr/local/bin/kfp-test-executor")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// The pipeline of `runtime/tests/fixtures/resources_pipeline.yaml`, which the local runner runs.
#[pipeline(name = "resources-pipeline")]
fn resources_pipeline(#[default("2")] cpu: String) -> Param<i64> {
    let pick = add(1, 1);
    let sum = add(pick.outputs.output, 40)
        .set_cpu_limit(cpu)
        .set_memory_limit("1Gi")
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(pick.outputs.output);
    ParallelFor(vec!["500m".to_string(), "1".to_string()], |cpu| {
        add(1, 2).set_cpu_request(cpu);
    });
    sum.outputs.output
}

/// The local runner's test runs what the compiler writes (so "a local run succeeds" holds for
/// kfp-rs output, not only for a hand-written file).
#[test]
fn the_local_runner_fixture_is_what_kfp_rs_compiles() {
    let fixture = support::repo().join("runtime/tests/fixtures/resources_pipeline.yaml");
    let ours = fresh_dir("resources-pipeline").join("resources-pipeline.yaml");
    compile_to_file(&resources_pipeline, &CompileOptions::default(), &ours);
    let output = run_support_script("ir_diff.py", &[&fixture, &ours]);
    assert!(output.status.success(), "{}", transcript(&output));
}

#[pipeline(name = "ddp-from-params")]
fn ddp_from_params(#[default("64Gi")] memory: String, #[default("nvidia.com/gpu")] gpu_type: String) {
    train_ddp(1).set_memory_limit(memory).set_accelerator_type(gpu_type).set_cpu_limit("16");
}

/// A distributed component's job pods are sized by launch flags: a resource read from a
/// parameter becomes `--<flag>-from=INPUT`, which the launcher resolves from its executor input.
#[test]
fn a_distributed_task_reads_its_resources_from_its_inputs_at_launch() {
    let spec = compile(&ddp_from_params.definition(), &CompileOptions::default()).unwrap().spec;
    let container = spec.deployment_spec.executors["exec-train-ddp"].container.clone().unwrap();
    assert!(container.resources.is_none(), "the launcher pod asks for nothing: {:?}", container.resources);
    let train = task(&spec, None, "train-ddp");
    assert_eq!(source(train, "pipelinechannel--memory"), "input memory");
    assert_eq!(source(train, "pipelinechannel--gpu_type"), "input gpu_type");
    // What KFP hands the launcher: `{{$}}` becomes the executor input with the task's inputs.
    let input = serde_json::json!({"inputs": {"parameterValues": {
        "size": 1, "pipelinechannel--memory": "96Gi", "pipelinechannel--gpu_type": "amd.com/gpu"
    }}});
    let args: Vec<String> =
        container.args.iter().map(|a| if a == "{{$}}" { input.to_string() } else { a.clone() }).collect();
    assert!(args.contains(&"--memory-limit-from=pipelinechannel--memory".to_owned()), "{args:?}");
    let (launch, _) = LaunchSpec::parse_args(&args).unwrap();
    assert_eq!(launch.resources.memory_limit.as_deref(), Some("96Gi"));
    assert_eq!(launch.resources.accelerator_type.as_deref(), Some("amd.com/gpu"));
    assert_eq!(launch.resources.accelerator_limit, Some(4), "one per process");
    assert_eq!(launch.resources.cpu_limit.as_deref(), Some("16"), "literals stay literal");

    let path = fresh_dir("ddp-from-params").join("ddp-from-params.yaml");
    compile_to_file(&ddp_from_params, &CompileOptions::default(), &path);
    let output = run_support_script("validate_ir.py", &[&path]);
    assert!(output.status.success(), "{}", transcript(&output));
}

/// `compile --pytorchjob` writes a manifest when it runs, before any parameter has a value.
#[test]
fn a_static_manifest_refuses_resources_read_at_run_time() {
    let dir = fresh_dir("ddp-from-params-manifest");
    let args = CompileArgs { out: dir.join("ir"), pipelines: vec![], list: false, check: false, disable_caching: false };
    let deploy = DeployArgs { pytorchjob: Some(dir.join("jobs")), ..Default::default() };
    let error = compile_deploy(&[&ddp_from_params], &args, &deploy).unwrap_err().to_string();
    assert!(error.contains("--pytorchjob: task 0 (`train_ddp`) of `ddp-from-params` reads its memory_limit from a parameter"), "{error}");
    assert!(!dir.join("jobs").exists(), "nothing is written");
}
