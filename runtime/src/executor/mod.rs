//! The KFP v2 container executor protocol: what runs inside each component's container.
//!
//! The compiler writes every executor as
//! `command: [BINARY]`, `args: [--executor-input, {{$}}, --function-to-execute, NAME]`.
//! The KFP launcher substitutes `{{$}}` with the protojson `ExecutorInput`; the binary parses
//! the flags ([`ExecutorArgs`], or [`executor_main`] with a table of components) and runs the
//! generated entry of component `NAME`, which does, in this order:
//!
//! ```ignore
//! let ctx = ExecutorContext::from_json(&executor_input, "train")?;   // honours KFP_LOCAL_PATH_ROOT
//! let lr: f64 = ctx.param::<f64>("lr")?;                             // 3.0 -> 3_i64 ok; 3.5 -> error
//! let opt: Option<String> = ctx.optional_param::<String>("opt")?;
//! let data: Input<Dataset> = ctx.input_artifact::<Dataset>("data")?;
//! let maybe: Option<Input<Dataset>> = ctx.optional_input_artifact::<Dataset>("x")?;
//! let many: Vec<Input<Dataset>> = ctx.input_artifact_list::<Dataset>("xs")?;
//! let model: Output<Model> = ctx.output_artifact::<Model>("model")?;
//! let result = ctx.run(|| train(lr, opt, data, maybe, many, model)); // fn returns Result<R, E>
//! ctx.finish(result)                                                  // R: ComponentReturn
//! ```
//!
//! Signatures (all methods of [`ExecutorContext`] take `&self` except `with_local_root` and
//! `finish`):
//! - `from_json(&str, &str) -> Result<ExecutorContext, ExecutorError>`,
//!   `with_local_root(self, impl Into<PathBuf>) -> Self`;
//! - `param<T: ParamType>(&str) -> Result<T, _>`, `optional_param<T>(&str) -> Result<Option<T>, _>`;
//! - `input_artifact<A: ArtifactType>(&str) -> Result<Input<A>, _>`, `optional_input_artifact`
//!   (`Option<Input<A>>`), `input_artifact_list` (`Vec<Input<A>>`);
//! - `output_artifact<A: ArtifactType>(&str) -> Result<Output<A>, _>`;
//! - `run<R, E: Into<anyhow::Error>>(impl FnOnce() -> Result<R, E>) -> Result<R, ExecutorError>`
//!   catches panics too; an infallible function is wrapped as
//!   `|| Ok::<_, std::convert::Infallible>(f(..))`;
//! - `finish<R: ComponentReturn>(self, Result<R, ExecutorError>) -> Result<(), ExecutorError>`.
//!
//! Everything the function can get wrong about its inputs (malformed JSON, a missing required
//! input, `3.5` for an integer, a Dataset where a Model is declared) is reported before it runs.
//! After it returns, `finish` writes each declared output parameter to its `outputFile` in the
//! text the launcher parses for its type and the `ExecutorOutput` JSON to `outputs.outputFile`,
//! all staged and renamed together; on any error nothing is written and output artifact paths
//! the function created are removed. The error is one line, `component 'train': input 'epochs':
//! expected an integer, got 3.5`; [`report`] prints it and gives exit status 1.
//!
//! Artifact URIs map to local paths as the launcher maps them (`gs://b/k` -> `/gcs/b/k`,
//! `minio://` -> `/minio/`, `s3://` -> `/s3/`, `oci://a/b` -> `/oci/a_b/models`); with
//! `KFP_LOCAL_PATH_ROOT=DIR` (or [`ExecutorContext::with_local_root`]) those paths are placed
//! under `DIR`. Absolute-path URIs, which the local runner writes, are used as they are.

mod args;
mod artifact;
mod context;
mod error;
pub(crate) mod fsio;
mod metrics;
mod panics;
mod params;
mod paths;
pub mod protocol;

pub use args::{ComponentEntry, ExecutorArgs, executor_main, report};
pub use fsio::write_atomic;
pub use artifact::{Input, Output};
pub use context::ExecutorContext;
pub use error::ExecutorError;
pub use metrics::MetricsError;
pub use paths::{LOCAL_ROOT_ENV, launcher_path_for_uri, local_path_for_uri};
