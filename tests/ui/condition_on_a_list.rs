#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn make() -> Vec<String> {
    Vec::new()
}

#[component(image = "img")]
fn show(message: String) {}

#[pipeline]
fn flow() {
    let made = make();
    If(made.outputs.output.eq(vec![]), || show("empty"));
}

fn main() {}
