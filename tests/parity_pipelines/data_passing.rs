#![allow(unused_variables)]

use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn produce(seed: i64, data: Output<Dataset>) -> String {
    String::new()
}

#[component(image = "python:3.11")]
pub fn consume(message: String, data: Input<Dataset>, model: Output<Model>) -> f64 {
    0.0
}

#[component(image = "python:3.11")]
pub fn report(score: f64, model: Input<Model>) -> Result<()> {
    Ok(())
}

#[component(image = "python:3.11")]
pub fn cleanup(note: String) -> Result<()> {
    Ok(())
}

#[pipeline(name = "data-passing")]
pub fn data_passing(#[default(1)] seed: i64) {
    let produced = produce(seed);
    let consumed = consume(produced.outputs.output, produced.outputs.data);
    let reported = report(consumed.outputs.output, consumed.outputs.model);
    cleanup("done").after(&reported).after(&produced);
}
