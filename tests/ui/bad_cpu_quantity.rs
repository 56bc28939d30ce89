use kfp::prelude::*;

#[component(image = "img", cpu_limit = "8 cores")]
fn step(x: i64) -> i64 {
    x
}

fn main() {}
