use kfp::prelude::*;

#[pipeline]
fn flow(model: Output<Model>) {}

fn main() {}
