use kfp::prelude::*;

#[component(image = "img")]
fn train(model: Output<Model>) {}

#[component(image = "img")]
fn evaluate(data: Input<Dataset>) {}

#[pipeline]
fn flow() {
    let trained = train();
    evaluate(trained.outputs.model);
}

fn main() {}
