//! Problems only visible when a pipeline body runs are reported by the compiler, each naming
//! the pipeline, the task and the field, all at once.

use kfp::compiler::compile::{CompileOptions, compile};
use kfp::prelude::*;

#[component(image = "img")]
fn step(x: i64) -> i64 {
    x
}

#[pipeline(name = "bad-settings")]
fn bad_settings() {
    let first = step(1).set_cpu_limit("lots");
    step(first.outputs.output).set_memory_request("1 GB").set_accelerator_limit(2);
}

#[test]
fn every_bad_task_setting_is_reported_with_its_task_and_field() {
    let errors = compile(&bad_settings.definition(), &CompileOptions::default()).unwrap_err();
    let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "pipeline 'bad-settings', task 'step', cpu_limit: \"lots\" is not a CPU quantity (like \"8\" or \"500m\")",
            "pipeline 'bad-settings', task 'step-2', memory_request: \"1 GB\" is not a memory quantity (like \"32Gi\" or \"512M\")",
            "pipeline 'bad-settings', task 'step-2', accelerator_limit: an accelerator count needs an accelerator type (like \"nvidia.com/gpu\")",
        ]
    );
}

#[pipeline(name = "caching-off")]
fn caching_off() {
    let first = step(1);
    step(first.outputs.output).set_caching_options(true);
}

#[test]
fn the_pipeline_wide_caching_switch_yields_to_task_settings() {
    let spec = compile(&caching_off.definition(), &CompileOptions { enable_caching: false }).unwrap().spec;
    let tasks = &spec.root.dag.as_ref().unwrap().tasks;
    assert!(!tasks["step"].caching_options.as_ref().unwrap().enable_cache);
    assert!(tasks["step-2"].caching_options.as_ref().unwrap().enable_cache);
}

#[test]
#[should_panic(expected = "component `step` was called as a task outside a #[pipeline] body")]
fn building_a_task_outside_a_pipeline_is_refused() {
    let _ = <step as kfp::__private::Component>::args().__p0(1).__build();
}

#[test]
fn components_stay_plain_functions() {
    assert_eq!(step(41), 41);
}
