use kfp::prelude::*;

#[component(image = "img", gpu = 1)]
fn step(x: i64) -> i64 {
    x
}

fn main() {}
