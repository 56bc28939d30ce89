use kfp::prelude::*;

#[component(image = "img")]
fn label(seed: i64) -> String {
    seed.to_string()
}

#[component(image = "img")]
fn count(seed: i64) -> i64 {
    seed
}

#[component(image = "img")]
fn fit(model: Output<Model>) {
    let _ = model;
}

#[pipeline]
fn flow(flag: String) {
    let (a, b) = If(flag.eq("x"), || label(1)).else_(|| count(2));
    OneOf([a.outputs.output, b.outputs.output]);
    let (c, d) = If(flag.eq("y"), || label(3)).else_(|| fit());
    OneOf([c.outputs.output, d.outputs.model]);
}

fn main() {}
