use kfp::prelude::*;

#[component(image = "img")]
fn train(data: Input<Dataset>, #[default(0.1)] lr: f64, epochs: i64) {}

#[pipeline]
fn flow(data: Input<Dataset>) {
    train(data, lr = 0.5);
}

fn main() {}
