use kfp::prelude::*;

#[component(image = "img")]
fn step<T: Clone>(x: i64) -> i64 {
    x
}

fn main() {}
