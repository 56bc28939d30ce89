//! Kubeflow Pipelines v2 IR types, the pipeline DSL graph and the compiler.
pub mod compile;
pub mod dsl;
pub mod ir;
