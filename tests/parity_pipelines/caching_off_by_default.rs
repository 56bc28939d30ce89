use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn fetch(url: String) -> String {
    url
}

#[pipeline(name = "fetch-twice")]
pub fn fetch_twice(url: String) {
    let first = fetch(url);
    fetch(first.outputs.output).set_caching_options(true);
}

/// Compiled with caching off by default.
#[pipeline(name = "caching-off-by-default")]
pub fn caching_off_by_default(#[default("https://example.com")] url: String) {
    fetch(url);
    fetch(url).set_caching_options(true);
    fetch_twice(url);
    fetch_twice(url).set_caching_options(true);
}
