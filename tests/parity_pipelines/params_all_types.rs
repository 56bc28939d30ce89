#![allow(unused_variables)]

use kfp::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[component(image = "python:3.11")]
pub fn consume_params(
    text: String,
    count: i64,
    ratio: f64,
    flag: bool,
    items: Vec<i64>,
    config: BTreeMap<String, Value>,
    #[default("hello")] text_default: String,
    #[default(3)] count_default: i64,
    #[default(0.25)] ratio_default: f64,
    #[default(true)] flag_default: bool,
    #[default(vec![json!(1), json!(2), json!(3)])] items_default: Vec<Value>,
    #[default(json!({"depth": 4, "name": "tree"}))] config_default: Value,
    maybe_text: Option<String>,
    maybe_count: Option<i64>,
) -> String {
    text
}

#[pipeline(name = "params-all-types")]
pub fn params_all_types(
    text: String,
    count: i64,
    ratio: f64,
    flag: bool,
    items: Vec<i64>,
    config: BTreeMap<String, Value>,
    #[default("world")] text_default: String,
    #[default(7)] count_default: i64,
    #[default(1.5)] ratio_default: f64,
    #[default(false)] flag_default: bool,
    #[default(vec![json!("a"), json!("b")])] items_default: Vec<Value>,
    #[default(json!({"k": "v", "n": 2}))] config_default: Value,
    maybe_text: Option<String>,
) {
    consume_params(
        text,
        count,
        ratio,
        flag,
        items,
        config,
        text_default,
        count_default,
        ratio_default,
        flag_default,
        items_default,
        config_default,
        maybe_text = maybe_text,
    );
    consume_params(
        text = "literal",
        count = 42,
        ratio = 0.5,
        flag = true,
        items = vec![1i64, 2],
        config = BTreeMap::from([("nested".to_owned(), json!({"x": [1, "two"]}))]),
        maybe_count = 5,
    );
}
