#![allow(unused_variables)]

use kfp::prelude::*;

#[derive(ComponentOutputs)]
pub struct Summary {
    pub mean: f64,
    pub count: i64,
    pub label: String,
    pub ok: bool,
}

#[component(image = "python:3.11")]
pub fn summarize(values: Vec<f64>) -> Summary {
    Summary { mean: 0.0, count: 0, label: String::new(), ok: true }
}

#[component(image = "python:3.11")]
pub fn check(mean: f64, count: i64, label: String) -> Result<()> {
    Ok(())
}

#[pipeline(name = "named-outputs")]
pub fn named_outputs(#[default(vec![1.0, 2.0])] values: Vec<f64>) {
    let summary = summarize(values);
    check(summary.outputs.mean, summary.outputs.count, summary.outputs.label);
}
