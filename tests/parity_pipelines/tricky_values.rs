#![allow(unused_variables)]

use kfp::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Strings that YAML 1.1 readers (PyYAML, go-yaml v2) turn into other types unless quoted,
/// and strings that need escaping.
pub const AWKWARD_STRINGS: &[&str] = &[
    "on", "off", "no", "y", "0x1F", "1e3", "-", "'q'", "\"dq\"", "{a}", "[b]", "*ref", "&anc", "!tag", "%pct",
    "@at", "`bt`", "ünï", "  spaced  ", "0o17", ".inf", "NaN", "True", "line1\nline2",
];

#[component(image = "python:3.11")]
pub fn echo(text: String, #[default(3)] n: Option<i64>) -> String {
    text
}

#[component(image = "python:3.11")]
pub fn make(data: Output<Dataset>) -> Vec<Value> {
    Vec::new()
}

#[component(image = "python:3.11")]
pub fn use_data(data: Input<Dataset>, xs: Vec<Value>) -> BTreeMap<String, Value> {
    BTreeMap::new()
}

#[component(image = "python:3.11")]
pub fn scale(factor: f64, count: i64) -> Result<()> {
    Ok(())
}

#[pipeline(name = "inner")]
pub fn inner(data: Input<Dataset>, #[default("yes")] label: String) {
    use_data(data, vec![Value::from("yes")]);
}

#[pipeline(name = "Tricky_Values")]
pub fn tricky_values(
    #[default("yes")] a: String,
    #[default("null")] b: String,
    #[default("2026-01-01")] c: String,
    #[default("")] d: String,
    #[default("1.0")] e: String,
    #[default("a: b")] f: String,
    #[default("#x: y")] g: String,
    #[default("~")] h: String,
    #[default(1e-7)] tiny: f64,
    #[default(1e20)] huge: f64,
    #[default(-2.5)] negative: f64,
    #[default(1i64 << 40)] big: i64,
    data: Option<Input<Dataset>>,
) {
    for text in AWKWARD_STRINGS {
        echo(*text);
    }
    for factor in [1e-7, 1.5e300, -0.0, 123456789.125, 5e-324] {
        scale(factor, -(1i64 << 53));
    }
    let made = make();
    inner(made.outputs.data).set_caching_options(false).set_display_name("Inner once").set_retry(2);
    inner(made.outputs.data, label = "no");
    use_data(made.outputs.data, made.outputs.output);
}
