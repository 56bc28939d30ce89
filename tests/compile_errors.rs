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

#[component(image = "img")]
fn total(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

/// Rust cannot stop a closure from capturing a task made inside a loop body; the compiler
/// reports the loop output used after the loop without `Collected`, and a loop inside a
/// condition gathered outside that condition (kfp refuses both).
#[pipeline(name = "escaping-loop-outputs")]
fn escaping_loop_outputs(flag: String) {
    let mut escaped = None;
    ParallelFor([1i64, 2], |x| escaped = Some(step(x)));
    step(escaped.expect("the body ran").outputs.output);
    let mut guarded = None;
    If(flag.eq("go"), || guarded = Some(ParallelFor([3i64, 4], |x| step(x).outputs.output)));
    total(Collected(guarded.expect("the body ran")));
}

#[test]
fn loop_outputs_that_escape_their_loop_are_reported() {
    let errors = compile(&escaping_loop_outputs.definition(), &CompileOptions::default()).unwrap_err();
    let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "pipeline 'escaping-loop-outputs', task 'step-2', inputs.x: uses an output of a task it cannot see: one from another pipeline body, or from inside a condition or loop this task is not in (use Collected(..) for loop outputs)",
            "pipeline 'escaping-loop-outputs', task 'total', inputs.xs: Collected(..) of for-loop-5 is used outside the condition or exit handler holding the loop; gather it inside that group",
        ]
    );
}

#[component(image = "img")]
fn word(text: String) -> String {
    text
}

/// Each OneOf here breaks one rule, so no single value exists whichever branch runs; the one
/// task that reads a broken OneOf is reported too.
#[pipeline(name = "bad-oneofs")]
fn bad_oneofs(flag: String) {
    let top = word("top");
    let ((a, b), c) = If(flag.eq("x"), || (word("a"), word("b"))).else_(|| word("c"));
    word(OneOf([a.outputs.output, b.outputs.output]));
    OneOf([top.outputs.output, c.outputs.output]);
    let (d, e) = If(flag.eq("y"), || word("d")).elif(flag.eq("z"), || word("e")).results;
    OneOf([d.outputs.output, e.outputs.output]);
    let (f, _, h) = If(flag.eq("y"), || word("f")).elif(flag.eq("z"), || word("g")).else_(|| word("h"));
    OneOf([f.outputs.output, h.outputs.output]);
    OneOf([a.outputs.output, h.outputs.output]);
    let (lone,) = If(flag.eq("w"), || word("w")).results;
    OneOf([lone.outputs.output, c.outputs.output]);
}

#[test]
fn oneof_over_channels_that_are_not_exclusive_branches_is_reported() {
    let errors = compile(&bad_oneofs.definition(), &CompileOptions::default()).unwrap_err();
    let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "pipeline 'bad-oneofs', OneOf: `word-2` (output Output) and `word-3` (output Output) are in the same branch (condition-2), so both run: OneOf picks between mutually exclusive branches",
            "pipeline 'bad-oneofs', OneOf: `word` (output Output) is at the top level: OneOf takes outputs of tasks placed directly in the branches of an If with Elif or Else",
            "pipeline 'bad-oneofs', OneOf: condition-branches-4 has no Else: when no branch runs, OneOf has no value (kfp requires an output from an Else branch)",
            "pipeline 'bad-oneofs', OneOf: branch condition-9 of condition-branches-7 gives no output: when it runs, OneOf has no value",
            "pipeline 'bad-oneofs', OneOf: `word-2` (output Output) is in condition-branches-1 but `word-10` (output Output) in condition-branches-7: OneOf picks between the branches of one If/Elif/Else",
            "pipeline 'bad-oneofs', OneOf: `word-11` (output Output) is in condition-11: OneOf takes outputs of tasks placed directly in the branches of an If with Elif or Else",
            "pipeline 'bad-oneofs', task 'word-5', inputs.text: uses a OneOf that did not compile (see the OneOf error) or that belongs to another pipeline body",
        ]
    );
}

/// A OneOf made inside a condition is read only there, and a pipeline returns one only from
/// its top level (kfp: "Pipeline outputs may only be returned from the top level").
#[pipeline(name = "oneof-out-of-scope")]
fn oneof_out_of_scope(flag: String) -> Param<String> {
    let mut picked = None;
    If(flag.eq("go"), || {
        let (a, b) = If(flag.eq("x"), || word("a")).else_(|| word("b"));
        picked = Some(OneOf([a.outputs.output, b.outputs.output]));
    });
    let picked = picked.expect("the body ran");
    word(picked);
    picked
}

#[test]
fn oneof_outside_its_scope_is_reported() {
    let errors = compile(&oneof_out_of_scope.definition(), &CompileOptions::default()).unwrap_err();
    let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "pipeline 'oneof-out-of-scope', task 'word-3', inputs.text: uses a OneOf of condition-branches-2 outside the scope of that If/Elif/Else: only tasks next to it or nested below can read it",
            "pipeline 'oneof-out-of-scope', outputs.Output: a pipeline returns a OneOf only from the top level; this one picks from condition-branches-2, which is inside a condition, loop or exit handler",
        ]
    );
}
