use kfp::prelude::*;

#[component(image = "img")]
async fn step(x: i64) -> i64 {
    x
}

fn main() {}
