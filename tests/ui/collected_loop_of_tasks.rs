#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn score(seed: i64) -> f64 {
    1.0
}

#[component(image = "img")]
fn report(scores: Vec<f64>) {}

#[pipeline]
fn flow() {
    // The body returns the task, not one of its outputs: pick it with `.map`.
    let scored = ParallelFor([1i64, 2], |seed| score(seed));
    report(Collected(scored));
}

fn main() {}
