use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn add(a: f64, b: f64) -> f64 {
    a + b
}

#[pipeline(name = "reuse")]
pub fn reuse(#[default(1.0)] start: f64) {
    let first = add(start, 2.0);
    let second = add(first.outputs.output, 3.0);
    add(second.outputs.output, first.outputs.output);
}
