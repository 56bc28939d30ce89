//! The Rust halves of the parity pipelines; the kfp halves are `tests/parity/<stem>.py`.
//!
//! Component bodies are trivial: only the interfaces and the pipeline graphs are compared.

// The signatures mirror kfp ones with many inputs on purpose.
#![allow(clippy::too_many_arguments)]

mod artifacts_io;
mod caching_off_by_default;
mod collected_nested;
mod control_flow_numbering;
mod data_passing;
mod named_outputs;
mod naming_and_nesting;
mod nested;
mod oneof;
mod params_all_types;
mod raw_identifiers;
mod resources;
mod resources_from_params;
mod reuse;
mod task_options;
mod tricky_values;

use kfp::Pipeline;
use kfp::compiler::compile::CompileOptions;

/// A Rust pipeline and the stem of its kfp twin (`tests/parity/<stem>.py`).
pub struct Twin {
    pub stem: &'static str,
    pub pipeline: &'static dyn Pipeline,
    /// kfp's `--disable-execution-caching-by-default` when false.
    pub caching_by_default: bool,
}

impl Twin {
    pub fn options(&self) -> CompileOptions {
        CompileOptions { enable_caching: self.caching_by_default }
    }
}

const fn twin(stem: &'static str, pipeline: &'static dyn Pipeline) -> Twin {
    Twin { stem, pipeline, caching_by_default: true }
}

/// Every parity pipeline; the last five are the crate's own examples.
pub const PARITY: &[Twin] = &[
    twin("params_all_types", &params_all_types::params_all_types),
    twin("artifacts_io", &artifacts_io::artifacts_io),
    twin("data_passing", &data_passing::data_passing),
    twin("resources", &resources::resources),
    twin("resources_from_params", &resources_from_params::resources_from_params),
    twin("task_options", &task_options::task_options),
    twin("nested", &nested::nested),
    twin("reuse", &reuse::reuse),
    twin("named_outputs", &named_outputs::named_outputs),
    twin("tricky_values", &tricky_values::tricky_values),
    twin("naming_and_nesting", &naming_and_nesting::naming_and_nesting),
    twin("raw_identifiers", &raw_identifiers::raw_identifiers),
    twin("control_flow_numbering", &control_flow_numbering::control_flow_numbering),
    twin("collected_nested", &collected_nested::collected_nested),
    twin("oneof", &oneof::oneof),
    Twin {
        stem: "caching_off_by_default",
        pipeline: &caching_off_by_default::caching_off_by_default,
        caching_by_default: false,
    },
    twin("hello_pipeline", &kfp_examples::minimal::hello_pipeline),
    twin("training", &kfp_examples::training::training),
    twin("control_flow", &kfp_examples::control_flow::control_flow),
    twin("fan_in", &kfp_examples::fan_in::fan_in),
    twin("composition", &kfp_examples::composition::composition),
];
