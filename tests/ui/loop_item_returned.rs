#![allow(unused_variables)]
use kfp::prelude::*;

#[component(image = "img")]
fn show(message: String) {}

#[pipeline]
fn flow(words: Vec<String>) {
    // The item only exists inside the loop body: returning it to use after the loop is rejected.
    let word = ParallelFor(words, |word| word);
}

fn main() {}
