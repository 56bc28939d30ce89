//! From a built pipeline graph to IR: naming, lowering, validation and YAML.

mod cel;
mod error;
mod launch;
mod lower;
mod names;
mod pipeline;
mod platform;
mod resources;
mod validate;
mod yaml;

pub use error::{CompileError, CompileErrors};
pub use launch::{LAUNCH_FLAG, LaunchArgsError, LaunchSpec};
pub use names::sanitize_k8s_name;
pub use pipeline::{CompileOptions, CompiledPipeline, PipelineDef, compile};
pub use validate::{Problem, validate};
pub use yaml::{documents as yaml_documents, read_platform_yaml, read_yaml, to_yaml};
