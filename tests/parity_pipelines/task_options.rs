#![allow(unused_variables)]

use kfp::compiler::dsl::RetrySettings;
use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn step(message: String) -> Result<()> {
    Ok(())
}

/// The options kfp sets per task, declared on the component instead.
#[component(
    image = "python:3.11",
    env(MODE = "slow", LEVEL = "1"),
    caching = false,
    display_name = "Configured step",
    retries = 2
)]
pub fn configured(message: String) -> Result<()> {
    Ok(())
}

#[pipeline(
    name = "task-options",
    description = "Task options set per task",
    display_name = "Task options",
    pipeline_root = "gs://bucket/root"
)]
pub fn task_options(#[default("hi")] message: String) {
    step(message)
        .set_env_variable("MODE", "fast")
        .set_env_variable("LEVEL", "3")
        .set_env_variable("MODE", "faster")
        .set_caching_options(false)
        .set_display_name("First step")
        .set_retry(4);
    step("plain");
    step("patient").set_retry_policy(RetrySettings {
        max_retry_count: 3,
        backoff_duration_s: 60,
        backoff_factor: 1.5,
        backoff_max_duration_s: 7200,
    });
    configured(message);
    configured("override").set_env_variable("MODE", "quick");
}
