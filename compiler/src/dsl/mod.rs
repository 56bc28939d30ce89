//! The pipeline DSL that `#[component]` and `#[pipeline]` expand to: typed channels between
//! tasks, task handles with kfp's `PipelineTask` setters, and the graph they build.
//!
//! A pipeline body runs once at compile time, like a kfp pipeline function: every component
//! call adds a task to the graph of the pipeline being built, and hands back a [`Task`] whose
//! `outputs` are typed channels. The compiler turns the finished graph into IR.

mod channel;
mod component;
mod condition;
mod control;
mod graph;
mod importer;
pub mod kubernetes;
mod loop_item;
mod oneof;
mod outputs;
mod quantity;
mod resource_setting;
mod task;
mod types;

pub use channel::{Argument, ArtifactListRef, ArtifactRef, IntoArtifact, IntoArtifactList, IntoParam, Param};
pub use component::{
    ComponentDef, ContainerDef, Distributed, Implementation, ImporterDef, InputDef, InputKind, OutputDef, OutputKind, Resources,
    RetrySettings,
};
pub use condition::{Comparable, Condition, IntoOperand, Operand};
pub use control::{
    Branches, Collectable, Collected, ExitHandler, If, IntoLoopItems, Loop, LoopItems, LoopResult, LoopSpec, ParallelFor,
};
pub use graph::{Graph, GroupId, GroupKind, GroupNode, Node, TaskId, TaskNode, TaskOverrides, add_task, build_graph};
pub use kubernetes::KubernetesConfig;
pub use loop_item::LoopItem;
pub use oneof::{AppendBranch, OneOf, OneOfChannel, OneOfId, OneOfNode};
pub use importer::{ImportOptions, Imported, importer, importer_with};
pub use outputs::{ComponentReturn, ParameterSink, PipelineOutput, PipelineReturn, record_pipeline_outputs};
pub use quantity::{cpu_to_cores, memory_to_gb};
pub use resource_setting::{IntoAcceleratorCount, IntoResourceSetting, ResourceField, ResourceValue};
pub use task::Task;
pub use types::*;
