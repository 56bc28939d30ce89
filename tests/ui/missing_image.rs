use kfp::prelude::*;

#[component]
fn step(x: i64) -> i64 {
    x
}

fn main() {}
