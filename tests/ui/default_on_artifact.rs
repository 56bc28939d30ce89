#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn step(#[default(1)] data: Input<Dataset>) {}

fn main() {}
