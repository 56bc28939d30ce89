use kfp::prelude::*;

#[component(image = "img")]
fn step(timeout: std::time::Duration) {}

fn main() {}
