use kfp::prelude::*;

#[component(image = "img", accelerator_limit = 2)]
fn step(x: i64) -> i64 {
    x
}

fn main() {}
