use kfp::prelude::*;

#[component(image = "a", image = "b")]
fn step(x: i64) -> i64 {
    x
}

fn main() {}
