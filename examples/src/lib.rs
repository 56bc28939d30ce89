//! Example pipelines for kfp-rs. `cargo run --bin compile` compiles all of them.

pub mod composition;
pub mod control_flow;
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
    &composition::composition,
    &kubernetes::kubernetes_settings,
    #[cfg(feature = "torch")]
    &flagship::wine_quality,
];
