use kfp::prelude::*;

#[component(image = "img")]
fn train(epochs: i64) {}

#[pipeline]
fn flow() {
    train(1, 2);
}

fn main() {}
