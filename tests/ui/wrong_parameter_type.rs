use kfp::prelude::*;

#[component(image = "img")]
fn train(epochs: i64) {}

#[pipeline]
fn flow(epochs: String) {
    train(epochs);
}

fn main() {}
