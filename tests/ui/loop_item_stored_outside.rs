#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn show(message: String) {}

#[pipeline]
fn flow() {
    let mut last = None;
    ParallelFor(vec![serde_json::json!({"name": "a"})], |item| {
        // Even a field of the item cannot be kept in a variable outside the loop.
        last = Some(item.field::<String>("name"));
    });
    show(last.unwrap());
}

fn main() {}
