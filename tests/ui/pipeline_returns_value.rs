use kfp::prelude::*;

#[pipeline]
fn flow(x: i64) -> i64 {
    x
}

fn main() {}
