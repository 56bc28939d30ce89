#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn step(model: Option<Output<Model>>) {}

fn main() {}
