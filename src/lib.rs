//! kfp-rs: write Kubeflow Pipelines in Rust.
//!
//! ```ignore
//! use kfp::prelude::*;
//! ```

pub mod cli;
