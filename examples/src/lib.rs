//! Example pipelines for kfp-rs. `cargo run --bin compile` compiles all of them.

pub mod branch_outputs;
pub mod composition;
pub mod control_flow;
pub mod fan_in;
pub mod kubernetes;
#[cfg(feature = "torch")]
pub mod flagship;
pub mod minimal;
pub mod training;

use kfp::Pipeline;

/// Every pipeline of this crate, for the compile CLI and the container entrypoint.
pub const PIPELINES: &[&dyn Pipeline] = &[
    &minimal::hello_pipeline,
    &training::training,
    &control_flow::control_flow,
    &branch_outputs::branch_outputs,
    &fan_in::fan_in,
    &composition::composition,
    &kubernetes::kubernetes_settings,
    #[cfg(feature = "torch")]
    &flagship::wine_quality,
];
