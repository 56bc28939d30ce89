use kfp::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, StructParam)]
pub struct Config {
    pub depth: i64,
    pub name: String,
}

#[component(image = "python:3.11")]
pub fn step(x: i64) -> i64 {
    x
}

#[component(image = "python:3.11")]
pub fn step_2(x: i64) -> i64 {
    x
}

#[component(image = "python:3.11")]
pub fn configure(#[default(Config { depth: 4, name: "tree".into() })] config: Config) -> Config {
    config
}

#[component(image = "python:3.11")]
pub fn inspect(config: Config, data: Option<Input<Dataset>>) -> bool {
    data.is_none() || config.depth > 0
}

#[pipeline(name = "level-two")]
pub fn level_two(x: i64) {
    step(x);
    step(x);
}

#[pipeline(name = "level-one")]
pub fn level_one(x: i64) {
    level_two(x);
    step_2(x);
}

#[pipeline(name = "naming-and-nesting")]
pub fn naming_and_nesting(#[default(1)] x: i64, data: Option<Input<Dataset>>) {
    step(x);
    step(x);
    step_2(x);
    step_2(x);
    step(x);
    level_one(x);
    level_two(x);
    let configured = configure();
    inspect(configured.outputs.output, data = data);
}
