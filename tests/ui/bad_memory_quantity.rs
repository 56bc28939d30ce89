use kfp::prelude::*;

#[component(image = "img", memory_limit = "32GB")]
fn step(x: i64) -> i64 {
    x
}

fn main() {}
