//! Kubeflow Pipelines REST client (API v2beta1) for kfp-rs: upload pipelines and versions,
//! manage experiments, create runs with typed parameters and wait for them.
//!
//! ```no_run
//! use kfp_client::{Config, ConnectionOptions, upload_or_create_version};
//! let config = Config::resolve(ConnectionOptions { endpoint: Some("http://localhost:8888".into()), ..Default::default() })?;
//! let uploaded = upload_or_create_version(&config, "pipeline.yaml".as_ref(), None, None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod config;
pub mod endpoints;
pub mod errors;
pub mod http;
pub mod output;
pub mod params;
pub mod pipeline_file;
pub mod workflow;

pub use config::{Config, ConfigError, ConnectionOptions, RetryPolicy, Token};
pub use errors::ApiError;
pub use http::Client;
pub use pipeline_file::PipelineFile;
pub use workflow::{ClientError, Uploaded, upload_or_create_version};
