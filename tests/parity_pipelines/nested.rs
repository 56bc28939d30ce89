#![allow(unused_variables)]

use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn greet(name: String) -> String {
    name
}

#[component(image = "python:3.11")]
pub fn shout(text: String) -> Result<()> {
    Ok(())
}

#[pipeline(name = "inner-pipeline")]
pub fn inner_pipeline(name: String, #[default(2)] times: i64) {
    let greeted = greet(name);
    shout(greeted.outputs.output);
}

#[pipeline(name = "nested")]
pub fn nested(#[default("kfp")] name: String) {
    let first = greet("outer");
    let inner = inner_pipeline(name);
    inner_pipeline(first.outputs.output, times = 5).after(&inner);
}
