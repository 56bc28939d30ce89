#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn score() -> f64 {
    1.0
}

#[component(image = "img")]
fn report(scores: Vec<f64>) {}

#[pipeline]
fn flow() {
    let scored = score();
    report(Collected(scored.outputs.output));
}

fn main() {}
