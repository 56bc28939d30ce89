//! Lowering: the DSL graph becomes IR structs, with kfp's names and layout.
//!
//! Each pipeline body is lowered scope by scope: the pipeline's own DAG, then each control-flow
//! group as a DAG component of its own (`comp-condition-1`, `comp-for-loop-2`). A channel used
//! inside a group but produced outside it becomes an input of the group
//! (`pipelinechannel--<task>-<output>`), passed down by every enclosing group in turn.
//!
//! Here: the pipeline, its bodies and scopes. By concern: [`task`] (one task and its executor
//! kind), [`container`] (a container's executor and resources), [`group`] (conditions, loops),
//! [`inputs`] (how an argument reaches a task, and kfp's names for it), [`collected`] and
//! [`oneof`] (values gathered from loops and branches), [`definitions`] (component interfaces).

use super::error::{CompileError, CompileErrors};
use super::names::{UniqueNames, sanitize_k8s_name};
use super::pipeline::{CompileOptions, PipelineDef};
use super::platform;
use crate::dsl::{Argument, Graph, InputDef, Node};
use crate::ir::*;
use definitions::{input_definitions, output_definitions};
use std::collections::{BTreeMap, BTreeSet};

mod collected;
mod container;
mod definitions;
mod group;
mod inputs;
mod oneof;
mod task;

const SDK_VERSION: &str = concat!("kfp-rs-", env!("CARGO_PKG_VERSION"));

pub(super) struct Lowering<'a> {
    pipeline: &'a PipelineDef,
    options: &'a CompileOptions,
    /// Component names are unique across the whole spec (`comp-train`, `comp-train-2`).
    component_names: UniqueNames,
    components: BTreeMap<String, ComponentSpec>,
    executors: BTreeMap<String, ExecutorSpec>,
    /// kfp-kubernetes settings by executor label: the platform document.
    kubernetes_executors: BTreeMap<String, KubernetesExecutorConfig>,
    errors: Vec<CompileError>,
}

/// One pipeline body being lowered: its graph, its inputs and the names kfp would give.
struct Body<'g> {
    graph: &'g Graph,
    inputs: &'g [InputDef],
    /// Task keys, unique across the body (`train`, `train-2`), by task index.
    task_keys: Vec<String>,
    /// `condition-1`, `for-loop-2`, ... by group index.
    group_names: Vec<String>,
    /// The component key of each group lowered so far, by group index.
    group_components: BTreeMap<usize, String>,
    /// Prefix of error locations (`inner/` inside a nested pipeline).
    path: String,
    /// The body's `OneOf`s by index; `None` for one that failed its checks.
    oneofs: Vec<Option<oneof::PlannedOneOf>>,
}

/// What a scope needs from its parent: group input name -> source and type.
type Needs = BTreeMap<String, Need>;

#[derive(Clone)]
struct Need {
    source: Argument,
    kind: NeedKind,
}

#[derive(Clone)]
enum NeedKind {
    Parameter(ParameterType),
    Artifact(ArtifactTypeSchema, bool),
}

/// What lowering one task or group adds to its scope.
#[derive(Default)]
struct ScopeState {
    needs: Needs,
    dependencies: BTreeSet<String>,
}

impl<'a> Lowering<'a> {
    pub(super) fn new(pipeline: &'a PipelineDef, options: &'a CompileOptions) -> Self {
        Self {
            pipeline,
            options,
            component_names: UniqueNames::default(),
            components: BTreeMap::new(),
            executors: BTreeMap::new(),
            kubernetes_executors: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    pub(super) fn lower(mut self) -> Result<(PipelineSpec, Option<PlatformSpec>), CompileErrors> {
        let pipeline = self.pipeline;
        let name = sanitize_k8s_name(pipeline.name);
        if name.is_empty() {
            self.error(None, "name", format!("{:?} has no letters or digits to name the pipeline", pipeline.name));
        }
        let dag = self.lower_body(&pipeline.graph, &pipeline.inputs, "");
        let root = ComponentSpec {
            dag: Some(dag),
            input_definitions: input_definitions(&pipeline.inputs),
            output_definitions: output_definitions(&pipeline.outputs),
            ..Default::default()
        };
        if !self.errors.is_empty() {
            return Err(CompileErrors(self.errors));
        }
        let platform = platform::platform_spec(std::mem::take(&mut self.kubernetes_executors));
        let spec = PipelineSpec {
            components: self.components,
            default_pipeline_root: pipeline.pipeline_root.map(str::to_owned),
            deployment_spec: DeploymentSpec { executors: self.executors },
            pipeline_info: PipelineInfo {
                description: pipeline.description.map(str::to_owned),
                display_name: pipeline.display_name.map(str::to_owned),
                name,
            },
            root,
            schema_version: SCHEMA_VERSION.to_owned(),
            sdk_version: SDK_VERSION.to_owned(),
        };
        Ok((spec, platform))
    }

    fn lower_body(&mut self, graph: &Graph, inputs: &[InputDef], path: &str) -> DagSpec {
        if graph.tasks.is_empty() {
            // kfp: "Task is missing from pipeline." An empty body is a mistake, not a no-op.
            let task = path.strip_suffix('/').filter(|p| !p.is_empty());
            self.error(task, "tasks", "the pipeline body has no tasks: call at least one component in it".into());
        }
        let mut names = UniqueNames::default();
        let task_keys = graph.tasks.iter().map(|t| names.claim(&sanitize_k8s_name(t.component.name))).collect();
        let group_names = graph.groups.iter().map(|g| format!("{}-{}", g.kind.prefix(), g.number)).collect();
        let mut body = Body {
            graph,
            inputs,
            task_keys,
            group_names,
            group_components: BTreeMap::new(),
            path: path.to_owned(),
            oneofs: Vec::new(),
        };
        body.oneofs = self.plan_oneofs(&body);
        let (mut dag, needs) = self.lower_scope(&mut body, None);
        // At the top, every channel resolves directly; a leftover need is a bug of ours.
        debug_assert!(needs.is_empty(), "top-level DAG needs inputs: {:?}", needs.keys().collect::<Vec<_>>());
        for (name, source) in &graph.outputs {
            let top_level = |task: &crate::dsl::TaskId| task.graph == graph.id && graph.tasks[task.index].parent.is_none();
            match source {
                Argument::TaskParam { task, key } if top_level(task) => {
                    dag.outputs.parameters.insert(
                        name.to_string(),
                        DagOutputParameterSpec::ValueFromParameter(ParameterSelector {
                            output_parameter_key: key.to_string(),
                            producer_subtask: body.task_keys[task.index].clone(),
                        }),
                    );
                }
                Argument::TaskArtifact { task, key } if top_level(task) => {
                    dag.outputs.artifacts.insert(
                        name.to_string(),
                        DagOutputArtifactSpec {
                            artifact_selectors: vec![ArtifactSelector {
                                output_artifact_key: key.to_string(),
                                producer_subtask: body.task_keys[task.index].clone(),
                            }],
                        },
                    );
                }
                Argument::OneOfParam(oneof) | Argument::OneOfArtifact(oneof) => {
                    if let Err(message) = self.oneof_pipeline_output(&body, *oneof, name, &mut dag.outputs) {
                        self.error(None, &format!("{path}outputs.{name}"), message);
                    }
                }
                Argument::Collected { .. } | Argument::CollectedArtifacts { .. } => {
                    self.lower_collected_output(&body, name, source, &mut dag, path);
                }
                _ => self.error(
                    None,
                    &format!("{path}outputs.{name}"),
                    "a pipeline returns an output of one of its top-level tasks (not an input, a constant, or a task inside a condition or loop)".into(),
                ),
            }
        }
        dag
    }

    /// The DAG of one scope (`None`: the body's own) and the inputs it needs from its parent.
    fn lower_scope(&mut self, body: &mut Body, scope: Option<usize>) -> (DagSpec, Needs) {
        let mut dag = DagSpec::default();
        let mut needs = Needs::new();
        for node in body.graph.order.clone() {
            match node {
                Node::Task(i) if body.graph.tasks[i].parent == scope => {
                    let mut state = ScopeState::default();
                    let spec = self.lower_task(body, i, scope, &mut state);
                    needs.extend(state.needs);
                    dag.tasks.insert(body.task_keys[i].clone(), spec);
                }
                Node::Group(g) if body.graph.groups[g].parent == scope => {
                    let mut state = ScopeState::default();
                    let spec = self.lower_group(body, g, scope, &mut state);
                    needs.extend(state.needs);
                    dag.tasks.insert(body.group_names[g].clone(), spec);
                }
                _ => {}
            }
        }
        (dag, needs)
    }

    fn error(&mut self, task: Option<&str>, field: &str, message: String) {
        self.errors.push(CompileError {
            pipeline: self.pipeline.name.to_owned(),
            task: task.map(str::to_owned),
            field: field.to_owned(),
            message,
        });
    }
}
