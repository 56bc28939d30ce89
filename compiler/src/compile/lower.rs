//! Lowering: the DSL graph becomes IR structs, with kfp's names and layout.
//!
//! Each pipeline body is lowered scope by scope: the pipeline's own DAG, then each control-flow
//! group as a DAG component of its own (`comp-condition-1`, `comp-for-loop-2`). A channel used
//! inside a group but produced outside it becomes an input of the group
//! (`pipelinechannel--<task>-<output>`), passed down by every enclosing group in turn.

use super::cel;
use super::launch::{self, LaunchSpec};
use super::error::{CompileError, CompileErrors};
use super::names::{UniqueNames, sanitize_k8s_name};
use super::platform;
use super::resources;
use super::pipeline::{CompileOptions, PipelineDef};
use crate::dsl::{
    Argument, ComponentDef, ContainerDef, Graph, GroupKind, Implementation, InputDef, InputKind, LoopItems, Node,
    OutputDef, OutputKind, ResourceField, Resources, RetrySettings, TaskNode,
};
use crate::ir::*;
use std::collections::{BTreeMap, BTreeSet};

mod oneof;

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

/// Where a consumer reads a list gathered from a loop.
enum Gathered {
    /// Beside the loop: the loop task's output.
    FromLoop { loop_task: String, output: String },
    /// Deeper in a group: an input of that group.
    GroupInput(String),
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

    fn lower_group(&mut self, body: &mut Body, g: usize, scope: Option<usize>, state: &mut ScopeState) -> PipelineTaskSpec {
        let name = body.group_names[g].clone();
        let where_ = format!("{}{name}", body.path);
        let component_key = format!("comp-{}", self.component_names.claim(&name));
        body.group_components.insert(g, component_key.clone());
        let (dag, mut inputs) = self.lower_scope(body, Some(g));
        let mut spec = PipelineTaskSpec {
            component_ref: ComponentRef { name: component_key.clone() },
            task_info: PipelineTaskInfo { name: name.clone() },
            ..Default::default()
        };
        let mut item_input = None;
        match &body.graph.groups[g].kind {
            GroupKind::Condition(conditions) => {
                let mut channel = |argument: &Argument| {
                    let (input, need) = self.channel_need(body, argument);
                    if let Some(need) = need {
                        inputs.insert(input.clone(), need);
                    }
                    input
                };
                let condition = cel::conjunction(conditions, &mut channel);
                spec.trigger_policy = Some(TriggerPolicy { condition: Some(condition), strategy: None });
            }
            GroupKind::Loop(spec_) => {
                let item_name = item_input_name(body, g);
                match &spec_.items {
                    LoopItems::Raw { items, item_type, .. } => {
                        spec.parameter_iterator = Some(ParameterIteratorSpec {
                            item_input: item_name.clone(),
                            items: ParameterItems::Raw(python_json(items)),
                        });
                        item_input = Some((item_name, NeedKind::Parameter(*item_type)));
                    }
                    LoopItems::Parameter { list, item_type } => {
                        let (list_input, need) = self.channel_need(body, list);
                        inputs.extend(need.map(|n| (list_input.clone(), n)));
                        spec.parameter_iterator = Some(ParameterIteratorSpec {
                            item_input: item_name.clone(),
                            items: ParameterItems::InputParameter(list_input),
                        });
                        item_input = Some((item_name, NeedKind::Parameter(*item_type)));
                    }
                    LoopItems::Artifacts { list, schema } => {
                        let (list_input, need) = self.channel_need(body, list);
                        inputs.extend(need.map(|n| (list_input.clone(), n)));
                        spec.artifact_iterator = Some(ArtifactIteratorSpec {
                            item_input: item_name.clone(),
                            items: ArtifactItems { input_artifact: list_input },
                        });
                        item_input = Some((item_name, NeedKind::Artifact(schema.clone(), false)));
                    }
                }
                spec.iterator_policy = spec_.parallelism.map(|limit| IteratorPolicy {
                    parallelism_limit: i32::try_from(limit).unwrap_or(i32::MAX),
                });
            }
            GroupKind::Branches | GroupKind::ExitHandler { .. } => {}
        }
        let mut component = ComponentSpec { dag: Some(dag), ..Default::default() };
        for (input, need) in &inputs {
            declare_input(&mut component.input_definitions, input, &need.kind);
        }
        // The loop's own item arrives from the iterator, not from the parent.
        if let Some((input, kind)) = &item_input {
            declare_input(&mut component.input_definitions, input, kind);
        }
        for (input, need) in &inputs {
            match &need.kind {
                NeedKind::Parameter(_) => match self.resolve_parameter(body, &need.source, scope, state) {
                    Ok(p) => {
                        spec.inputs.parameters.insert(input.clone(), p);
                    }
                    Err(message) => self.error(Some(&where_), &format!("inputs.{input}"), message),
                },
                NeedKind::Artifact(..) => match self.resolve_artifact(body, &need.source, scope, state) {
                    Ok(a) => {
                        spec.inputs.artifacts.insert(input.clone(), a);
                    }
                    Err(message) => self.error(Some(&where_), &format!("inputs.{input}"), message),
                },
            }
        }
        spec.dependent_tasks = std::mem::take(&mut state.dependencies).into_iter().collect();
        self.components.insert(component_key, component);
        spec
    }

    fn lower_task(&mut self, body: &mut Body, i: usize, scope: Option<usize>, state: &mut ScopeState) -> PipelineTaskSpec {
        let task = &body.graph.tasks[i];
        let key = body.task_keys[i].clone();
        let where_ = format!("{}{key}", body.path);
        let component = &task.component;
        let unique = self.component_names.claim(&sanitize_k8s_name(component.name));
        let component_key = format!("comp-{unique}");
        let mut spec = ComponentSpec {
            input_definitions: input_definitions(&component.inputs),
            output_definitions: output_definitions(&component.outputs),
            ..Default::default()
        };
        let mut task_spec = PipelineTaskSpec {
            component_ref: ComponentRef { name: component_key.clone() },
            ..Default::default()
        };
        let mut display_name = task.overrides.display_name.clone();
        let default_caching = match &component.implementation {
            Implementation::Container(container) => {
                let executor_key = format!("exec-{unique}");
                let channel_inputs = (task.overrides.resource_channels.iter())
                    .filter(|(_, argument)| !matches!(argument, Argument::Constant(_)))
                    .map(|(field, argument)| (*field, resource_input_name(body, argument)))
                    .collect();
                let executor = self.lower_container(component, container, task, &channel_inputs, &where_);
                self.executors.insert(executor_key.clone(), ExecutorSpec { container: Some(executor), importer: None });
                spec.executor_label = Some(executor_key);
                task_spec.retry_policy = task.overrides.retry.as_ref().or(container.retry.as_ref()).map(retry);
                display_name = display_name.or_else(|| container.display_name.clone());
                container.caching
            }
            Implementation::BackendOp(image) => {
                let executor_key = format!("exec-{unique}");
                let container = ContainerSpec { image: (*image).to_owned(), ..Default::default() };
                self.executors.insert(executor_key.clone(), ExecutorSpec { container: Some(container), importer: None });
                spec.executor_label = Some(executor_key);
                task_spec.retry_policy = task.overrides.retry.as_ref().map(retry);
                true
            }
            Implementation::Importer(importer) => {
                let executor_key = format!("exec-{unique}");
                let artifact_uri = match task.arguments.iter().find(|(name, _)| *name == "uri") {
                    Some((_, Argument::Constant(uri))) => ImporterUri::Constant(uri.clone()),
                    _ => ImporterUri::RuntimeParameter("uri".into()),
                };
                let importer = ImporterSpec {
                    artifact_uri,
                    metadata: importer.metadata.clone(),
                    reimport: importer.reimport,
                    type_schema: importer.schema.clone(),
                };
                self.executors.insert(executor_key.clone(), ExecutorSpec { container: None, importer: Some(importer) });
                spec.executor_label = Some(executor_key);
                task_spec.retry_policy = task.overrides.retry.as_ref().map(retry);
                true
            }
            Implementation::Graph(inner) => {
                spec.dag = Some(self.lower_body(inner, &component.inputs, &format!("{where_}/")));
                task_spec.retry_policy = task.overrides.retry.as_ref().map(retry);
                // kfp rejects these on a pipeline task too: a DAG has no container to set them on.
                if task.overrides.resources != Resources::default()
                    || !task.overrides.resource_channels.is_empty()
                    || !task.overrides.env.is_empty()
                {
                    self.error(
                        Some(&where_),
                        "resources/env",
                        format!(
                            "`{}` is a pipeline: CPU, memory, accelerator and env settings apply to component tasks only",
                            component.name
                        ),
                    );
                }
                true
            }
        };
        let enabled = task.overrides.caching.unwrap_or(default_caching && self.options.enable_caching);
        task_spec.caching_options = Some(CachingOptions { cache_key: None, enable_cache: enabled });
        if !task.overrides.kubernetes.is_empty() {
            match (&component.implementation, &spec.executor_label) {
                (Implementation::Container(_), Some(label)) => {
                    let resolve = |argument: &Argument| self.resolve_parameter(body, argument, scope, state);
                    let (config, problems) = platform::lower_kubernetes(&task.overrides.kubernetes, resolve);
                    for (field, message) in problems {
                        self.error(Some(&where_), &field, message);
                    }
                    // Like kfp, settings that lower to nothing (`set_timeout(0)` alone) add no entry.
                    if config != KubernetesExecutorConfig::default() {
                        self.kubernetes_executors.insert(label.clone(), config);
                    }
                }
                _ => self.error(
                    Some(&where_),
                    "kubernetes",
                    format!("`{}` is not a container component: Kubernetes pod settings apply to container tasks only", component.name),
                ),
            }
        }
        self.components.insert(component_key, spec);

        for (name, argument) in &task.arguments {
            let field = format!("inputs.{name}");
            let is_artifact = matches!(
                argument,
                Argument::PipelineArtifact(_)
                    | Argument::TaskArtifact { .. }
                    | Argument::LoopArtifact { .. }
                    | Argument::OneOfArtifact(_)
                    | Argument::CollectedArtifacts { .. }
            );
            if is_artifact {
                match self.resolve_artifact(body, argument, scope, state) {
                    Ok(a) => {
                        task_spec.inputs.artifacts.insert(name.to_string(), a);
                    }
                    Err(message) => self.error(Some(&where_), &field, message),
                }
            } else {
                match self.resolve_parameter(body, argument, scope, state) {
                    Ok(p) => {
                        task_spec.inputs.parameters.insert(name.to_string(), p);
                    }
                    Err(message) => self.error(Some(&where_), &field, message),
                }
            }
        }
        self.lower_resource_inputs(body, i, scope, state, &mut task_spec, &where_);
        let task = &body.graph.tasks[i];
        for upstream in &task.after {
            match self.upstream_in_scope(body, upstream.graph, Node::Task(upstream.index), scope) {
                Some(dependency) => {
                    state.dependencies.insert(dependency);
                }
                None => self.error(Some(&where_), "after", "names a task of another pipeline body, or one inside a group this task is not in".into()),
            }
        }
        // An exit handler's cleanup task runs after its group, whatever the outcome.
        let exit_of = body.graph.groups.iter().position(|g| matches!(g.kind, GroupKind::ExitHandler { exit_task } if exit_task == i));
        if let Some(g) = exit_of {
            let handler = body.group_names[g].clone();
            state.dependencies.insert(handler.clone());
            task_spec.trigger_policy =
                Some(TriggerPolicy { condition: None, strategy: Some(TriggerStrategy::AllUpstreamTasksCompleted) });
            for input in &task.component.inputs {
                if matches!(input.kind, InputKind::Parameter { ty: ParameterType::TaskFinalStatus, .. }) {
                    task_spec.inputs.parameters.insert(
                        input.name.to_owned(),
                        TaskInputParameter::TaskFinalStatus(TaskFinalStatusSpec { producer_task: handler.clone() }).into(),
                    );
                }
            }
        } else {
            for input in &task.component.inputs {
                if matches!(input.kind, InputKind::Parameter { ty: ParameterType::TaskFinalStatus, .. }) {
                    self.error(
                        Some(&where_),
                        &format!("inputs.{}", input.name),
                        "a TaskFinalStatus input is only filled for the exit task of an ExitHandler".into(),
                    );
                }
            }
            if task.overrides.ignore_upstream_failure {
                task_spec.trigger_policy =
                    Some(TriggerPolicy { condition: None, strategy: Some(TriggerStrategy::AllUpstreamTasksCompleted) });
            }
        }
        task_spec.dependent_tasks = std::mem::take(&mut state.dependencies).into_iter().collect();
        task_spec.task_info = PipelineTaskInfo { name: display_name.unwrap_or(key) };
        task_spec
    }

    /// The name of `node`, or of the group holding it, as seen from `scope`; `None` when it is
    /// not inside `scope`.
    fn upstream_in_scope(&self, body: &Body, graph: u32, node: Node, scope: Option<usize>) -> Option<String> {
        if graph != body.graph.id {
            return None;
        }
        let (mut parent, mut name) = match node {
            Node::Task(i) => (body.graph.tasks[i].parent, body.task_keys[i].clone()),
            Node::Group(g) => (body.graph.groups[g].parent, body.group_names[g].clone()),
        };
        loop {
            if parent == scope {
                return Some(name);
            }
            let g = parent?;
            name = body.group_names[g].clone();
            parent = body.graph.groups[g].parent;
        }
    }

    /// How a parameter argument reaches a task in `scope`.
    fn resolve_parameter(
        &mut self,
        body: &Body,
        argument: &Argument,
        scope: Option<usize>,
        state: &mut ScopeState,
    ) -> Result<TaskInputParameterSpec, String> {
        let selector = match argument {
            Argument::LoopItem { field: Some(field), .. } => Some(format!("parseJson(string_value)[\"{field}\"]")),
            _ => None,
        };
        let source = match argument {
            Argument::Constant(value) => TaskInputParameter::RuntimeValue(RuntimeValue { constant: value.clone() }),
            Argument::PipelineParam(input) if scope.is_none() => {
                TaskInputParameter::ComponentInputParameter(input.to_string())
            }
            Argument::TaskParam { task, key } if task.graph == body.graph.id && body.graph.tasks[task.index].parent == scope => {
                let producer = body.task_keys[task.index].clone();
                state.dependencies.insert(producer.clone());
                TaskInputParameter::TaskOutputParameter(TaskOutputParameterSpec {
                    output_parameter_key: key.to_string(),
                    producer_task: producer,
                })
            }
            Argument::LoopItem { group, .. } if group.graph == body.graph.id && Some(group.index) == scope => {
                TaskInputParameter::ComponentInputParameter(item_input_name(body, group.index))
            }
            Argument::Collected { .. } => match self.resolve_collected(body, argument, scope, state)? {
                Gathered::FromLoop { loop_task, output } => TaskInputParameter::TaskOutputParameter(TaskOutputParameterSpec {
                    output_parameter_key: output,
                    producer_task: loop_task,
                }),
                Gathered::GroupInput(input) => TaskInputParameter::ComponentInputParameter(input),
            },
            Argument::OneOfParam(oneof) => match self.resolve_oneof(body, argument, *oneof, scope, state)? {
                oneof::OneOfSource::GroupOutput { producer_task, key } => {
                    TaskInputParameter::TaskOutputParameter(TaskOutputParameterSpec { output_parameter_key: key, producer_task })
                }
                oneof::OneOfSource::GroupInput(input) => TaskInputParameter::ComponentInputParameter(input),
            },
            Argument::PipelineArtifact(_)
            | Argument::TaskArtifact { .. }
            | Argument::LoopArtifact { .. }
            | Argument::OneOfArtifact(_)
            | Argument::CollectedArtifacts { .. } => {
                return Err("an artifact was given where a parameter is expected".into());
            }
            outer => {
                let (input, need) = self.channel_need(body, outer);
                let need = need.ok_or_else(|| self.out_of_scope_message(outer))?;
                if !self.visible(body, outer, scope) {
                    return Err(self.out_of_scope_message(outer));
                }
                state.needs.insert(input.clone(), need);
                TaskInputParameter::ComponentInputParameter(input)
            }
        };
        Ok(TaskInputParameterSpec { source, parameter_expression_selector: selector })
    }

    /// How an artifact argument reaches a task in `scope`.
    fn resolve_artifact(
        &mut self,
        body: &Body,
        argument: &Argument,
        scope: Option<usize>,
        state: &mut ScopeState,
    ) -> Result<TaskInputArtifact, String> {
        Ok(match argument {
            Argument::PipelineArtifact(input) if scope.is_none() => TaskInputArtifact::ComponentInputArtifact(input.to_string()),
            Argument::TaskArtifact { task, key } if task.graph == body.graph.id && body.graph.tasks[task.index].parent == scope => {
                let producer = body.task_keys[task.index].clone();
                state.dependencies.insert(producer.clone());
                TaskInputArtifact::TaskOutputArtifact(TaskOutputArtifactSpec {
                    output_artifact_key: key.to_string(),
                    producer_task: producer,
                })
            }
            Argument::LoopArtifact { group } if group.graph == body.graph.id && Some(group.index) == scope => {
                TaskInputArtifact::ComponentInputArtifact(item_input_name(body, group.index))
            }
            Argument::OneOfArtifact(oneof) => match self.resolve_oneof(body, argument, *oneof, scope, state)? {
                oneof::OneOfSource::GroupOutput { producer_task, key } => {
                    TaskInputArtifact::TaskOutputArtifact(TaskOutputArtifactSpec { output_artifact_key: key, producer_task })
                }
                oneof::OneOfSource::GroupInput(input) => TaskInputArtifact::ComponentInputArtifact(input),
            },
            Argument::PipelineArtifact(_) | Argument::TaskArtifact { .. } | Argument::LoopArtifact { .. } => {
                if !self.visible(body, argument, scope) {
                    return Err(self.out_of_scope_message(argument));
                }
                let (input, need) = self.channel_need(body, argument);
                let need = need.ok_or_else(|| self.out_of_scope_message(argument))?;
                state.needs.insert(input.clone(), need);
                TaskInputArtifact::ComponentInputArtifact(input)
            }
            Argument::CollectedArtifacts { .. } => match self.resolve_collected(body, argument, scope, state)? {
                Gathered::FromLoop { loop_task, output } => TaskInputArtifact::TaskOutputArtifact(TaskOutputArtifactSpec {
                    output_artifact_key: output,
                    producer_task: loop_task,
                }),
                Gathered::GroupInput(input) => TaskInputArtifact::ComponentInputArtifact(input),
            },
            _ => return Err("a parameter was given where an artifact is expected".into()),
        })
    }

    /// A task output gathered across the iterations of a loop (`Collected`): every group from
    /// the producer up to that loop exposes it as a list output (kfp's
    /// `pipelinechannel--<task>-<output>`); a consumer beside the loop reads the loop task's
    /// output, a deeper one gets it as a group input.
    fn resolve_collected(
        &mut self,
        body: &Body,
        argument: &Argument,
        scope: Option<usize>,
        state: &mut ScopeState,
    ) -> Result<Gathered, String> {
        let (Argument::Collected { task, key, through } | Argument::CollectedArtifacts { task, key, through }) = argument else {
            unreachable!("called for Collected channels only")
        };
        if task.graph != body.graph.id || through.graph != body.graph.id {
            return Err("Collected(..) gathers a loop of another pipeline body".into());
        }
        let loop_group = through.index;
        let loop_name = body.group_names[loop_group].clone();
        if !body.graph.encloses(Some(loop_group), body.graph.tasks[task.index].parent) {
            return Err(format!("Collected(..) gathers {loop_name}, but the task it was given is not inside that loop"));
        }
        let loop_parent = body.graph.groups[loop_group].parent;
        if body.graph.encloses(Some(loop_group), scope) {
            return Err(format!("Collected(..) of {loop_name} is used inside that loop; use it after the loop"));
        }
        if !body.graph.encloses(loop_parent, scope) {
            return Err(format!(
                "Collected(..) of {loop_name} is used outside the condition or exit handler holding the loop; gather it inside that group"
            ));
        }
        let producer = body.task_keys[task.index].clone();
        let output = format!("pipelinechannel--{producer}-{key}");
        let produced = &body.graph.tasks[task.index].component.outputs;
        let schema = match (argument, produced.iter().find(|o| o.name == *key).map(|o| &o.kind)) {
            (Argument::Collected { .. }, Some(OutputKind::Parameter(_))) => None,
            (Argument::CollectedArtifacts { .. }, Some(OutputKind::Artifact { schema, .. })) => Some(schema.clone()),
            _ => return Err(format!("Collected(..) of {loop_name}: task {producer} has no such output {key:?}")),
        };
        let (mut child, mut child_output) = (producer, key.to_string());
        let mut group = body.graph.tasks[task.index].parent;
        while let Some(g) = group {
            let component = body.group_components.get(&g).and_then(|key| self.components.get_mut(key));
            let component = component.ok_or_else(|| format!("Collected(..) of {loop_name} is used before the loop ends"))?;
            let dag = component.dag.get_or_insert_with(DagSpec::default);
            match &schema {
                None => {
                    component
                        .output_definitions
                        .parameters
                        .insert(output.clone(), OutputParameterSpec { description: None, parameter_type: ParameterType::List });
                    let selector = ParameterSelector { output_parameter_key: child_output, producer_subtask: child };
                    dag.outputs.parameters.insert(output.clone(), DagOutputParameterSpec::ValueFromParameter(selector));
                }
                Some(schema) => {
                    component.output_definitions.artifacts.insert(
                        output.clone(),
                        OutputArtifactSpec { artifact_type: schema.clone(), description: None, is_artifact_list: true },
                    );
                    let selector = ArtifactSelector { output_artifact_key: child_output, producer_subtask: child };
                    dag.outputs.artifacts.insert(output.clone(), DagOutputArtifactSpec { artifact_selectors: vec![selector] });
                }
            }
            if g == loop_group {
                break;
            }
            (child, child_output) = (body.group_names[g].clone(), output.clone());
            group = body.graph.groups[g].parent;
        }
        if loop_parent == scope {
            state.dependencies.insert(loop_name.clone());
            return Ok(Gathered::FromLoop { loop_task: loop_name, output });
        }
        let (input, need) = self.channel_need(body, argument);
        state.needs.insert(input.clone(), need.ok_or_else(|| format!("Collected(..) of {loop_name} has no type"))?);
        Ok(Gathered::GroupInput(input))
    }

    /// A pipeline output gathered from a top-level loop: the root DAG reads the loop's output.
    fn lower_collected_output(&mut self, body: &Body, name: &str, source: &Argument, dag: &mut DagSpec, path: &str) {
        let mut state = ScopeState::default();
        match self.resolve_collected(body, source, None, &mut state) {
            Ok(Gathered::FromLoop { loop_task, output }) => {
                if matches!(source, Argument::Collected { .. }) {
                    let selector = ParameterSelector { output_parameter_key: output, producer_subtask: loop_task };
                    dag.outputs.parameters.insert(name.to_owned(), DagOutputParameterSpec::ValueFromParameter(selector));
                } else {
                    let selector = ArtifactSelector { output_artifact_key: output, producer_subtask: loop_task };
                    dag.outputs.artifacts.insert(name.to_owned(), DagOutputArtifactSpec { artifact_selectors: vec![selector] });
                }
            }
            Ok(Gathered::GroupInput(_)) => unreachable!("the root DAG has no parent to take inputs from"),
            Err(message) => self.error(None, &format!("{path}outputs.{name}"), message),
        }
    }

    /// Whether the channel is produced in `scope` or a scope enclosing it.
    fn visible(&self, body: &Body, argument: &Argument, scope: Option<usize>) -> bool {
        let home = match argument {
            Argument::PipelineParam(_) | Argument::PipelineArtifact(_) | Argument::Constant(_) => return true,
            Argument::TaskParam { task, .. } | Argument::TaskArtifact { task, .. } => {
                if task.graph != body.graph.id {
                    return false;
                }
                body.graph.tasks[task.index].parent
            }
            // A gathered list appears beside its loop.
            Argument::Collected { through, .. } | Argument::CollectedArtifacts { through, .. } => {
                if through.graph != body.graph.id {
                    return false;
                }
                body.graph.groups[through.index].parent
            }
            Argument::LoopItem { group, .. } | Argument::LoopArtifact { group } => {
                if group.graph != body.graph.id {
                    return false;
                }
                Some(group.index)
            }
            Argument::OneOfParam(oneof) | Argument::OneOfArtifact(oneof) => match oneof::planned(body, *oneof) {
                Some(plan) => body.graph.groups[plan.group].parent,
                None => return false,
            },
        };
        body.graph.encloses(home, scope)
    }

    fn out_of_scope_message(&self, argument: &Argument) -> String {
        match argument {
            Argument::LoopItem { .. } | Argument::LoopArtifact { .. } => "uses the item of a ParallelFor outside that loop".into(),
            _ => "uses an output of a task it cannot see: one from another pipeline body, or from inside a condition or loop this task is not in (use Collected(..) for loop outputs)".into(),
        }
    }

    /// The group input a channel arrives as, and what it is; `None` for constants.
    fn channel_need(&mut self, body: &Body, argument: &Argument) -> (String, Option<Need>) {
        let kind = match argument {
            Argument::Constant(_) => return (String::new(), None),
            Argument::PipelineParam(name) => body.inputs.iter().find(|i| i.name == *name).map(|i| match &i.kind {
                InputKind::Parameter { ty, .. } => NeedKind::Parameter(*ty),
                InputKind::Artifact { schema, list, .. } => NeedKind::Artifact(schema.clone(), *list),
            }),
            Argument::PipelineArtifact(name) => body.inputs.iter().find(|i| i.name == *name).map(|i| match &i.kind {
                InputKind::Artifact { schema, list, .. } => NeedKind::Artifact(schema.clone(), *list),
                InputKind::Parameter { ty, .. } => NeedKind::Parameter(*ty),
            }),
            Argument::Collected { .. } => Some(NeedKind::Parameter(ParameterType::List)),
            Argument::CollectedArtifacts { task, key, .. } => (task.graph == body.graph.id)
                .then(|| body.graph.tasks[task.index].component.outputs.iter().find(|o| o.name == *key))
                .flatten()
                .and_then(|o| match &o.kind {
                    OutputKind::Artifact { schema, .. } => Some(NeedKind::Artifact(schema.clone(), true)),
                    OutputKind::Parameter(_) => None,
                }),
            Argument::TaskParam { task, key } | Argument::TaskArtifact { task, key } => {
                (task.graph == body.graph.id)
                    .then(|| body.graph.tasks[task.index].component.outputs.iter().find(|o| o.name == *key))
                    .flatten()
                    .map(|o| match &o.kind {
                        OutputKind::Parameter(ty) => NeedKind::Parameter(*ty),
                        OutputKind::Artifact { schema, list } => NeedKind::Artifact(schema.clone(), *list),
                    })
            }
            Argument::LoopItem { group, .. } | Argument::LoopArtifact { group } => {
                (group.graph == body.graph.id).then(|| match &body.graph.groups[group.index].kind {
                    GroupKind::Loop(spec) => match &spec.items {
                        LoopItems::Raw { item_type, .. } | LoopItems::Parameter { item_type, .. } => {
                            NeedKind::Parameter(*item_type)
                        }
                        LoopItems::Artifacts { schema, .. } => NeedKind::Artifact(schema.clone(), false),
                    },
                    _ => NeedKind::Parameter(ParameterType::String),
                })
            }
            Argument::OneOfParam(oneof) | Argument::OneOfArtifact(oneof) => {
                oneof::planned(body, *oneof).map(|plan| plan.kind.clone())
            }
        };
        let name = channel_name(body, argument);
        let source = match argument {
            Argument::LoopItem { group, .. } => Argument::LoopItem { group: *group, field: None },
            other => other.clone(),
        };
        (name, kind.map(|kind| Need { source, kind }))
    }

    fn lower_container(
        &mut self,
        component: &ComponentDef,
        container: &ContainerDef,
        task: &TaskNode,
        channel_inputs: &BTreeMap<ResourceField, String>,
        where_: &str,
    ) -> ContainerSpec {
        if container.image.trim().is_empty() {
            self.error(Some(where_), "image", format!("component `{}` has no container image", component.name));
        }
        let mut env = container.env.clone();
        // Like kfp's env dict: a task's setting replaces the component's value in place.
        for (name, value) in &task.overrides.env {
            match env.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value.clone(),
                None => env.push((name.clone(), value.clone())),
            }
        }
        let resources = container.resources.overlay(&task.overrides.resources);
        if let Some(message) = launch::accelerator_conflict(container, &resources) {
            self.error(Some(where_), "accelerator_limit", message);
        }
        let launch = LaunchSpec::for_task(container, &task.overrides);
        let mut args = match &launch {
            Some(launch) => launch.to_args_reading(channel_inputs).unwrap_or_else(|field| {
                self.error(Some(where_), field.setting(), launch::COUNT_FROM_INPUT_UNSUPPORTED.into());
                launch.to_args()
            }),
            None => Vec::new(),
        };
        args.extend(["--executor-input", "{{$}}", "--function-to-execute", component.name].map(String::from));
        let resources = self.lower_resources(&resources, channel_inputs, where_);
        ContainerSpec {
            args,
            command: vec![container.binary.into()],
            env: env.into_iter().map(|(name, value)| EnvVar { name, value }).collect(),
            image: container.image.into(),
            // A distributed component's job pods get the resources; its launcher pod needs none.
            resources: if launch.is_some() { None } else { resources },
        }
    }

    fn lower_resources(
        &mut self,
        resources: &Resources,
        channel_inputs: &BTreeMap<ResourceField, String>,
        where_: &str,
    ) -> Option<ResourceSpec> {
        let (spec, problems) = resources::resource_spec(resources, channel_inputs);
        for (setting, message) in problems {
            self.error(Some(where_), setting, message);
        }
        spec
    }

    /// A resource setting read from a channel reaches the task as kfp passes it: the channel as
    /// an input `pipelinechannel--..` (with the dependency or group input any input gets), and
    /// an input named after the setting whose constant is the placeholder (see [`resources`]).
    fn lower_resource_inputs(
        &mut self,
        body: &Body,
        i: usize,
        scope: Option<usize>,
        state: &mut ScopeState,
        task_spec: &mut PipelineTaskSpec,
        where_: &str,
    ) {
        let task = &body.graph.tasks[i];
        match &task.component.implementation {
            Implementation::Container(_) => {}
            // Reported with the literal settings.
            Implementation::Graph(_) => return,
            Implementation::Importer(_) | Implementation::BackendOp(_) => {
                if let Some(field) = task.overrides.resource_channels.keys().next() {
                    self.error(
                        Some(where_),
                        field.setting(),
                        format!("`{}` is not a container component: resource settings apply to container tasks only", task.component.name),
                    );
                }
                return;
            }
        }
        for (field, argument) in &task.overrides.resource_channels {
            if let Argument::Constant(value) = argument {
                // Only a count can arrive here as a constant: one that is not a count.
                self.error(Some(where_), field.setting(), format!("{value} is not a non-negative integer"));
                continue;
            }
            let setting_input = field.input_name();
            if task.component.inputs.iter().any(|input| input.name == setting_input) {
                self.error(
                    Some(where_),
                    field.setting(),
                    format!(
                        "a {} read from a parameter reaches the task as its input `{setting_input}` (as kfp passes it), \
                         but `{}` has an input of that name: rename that input, or set the value as a literal",
                        field.setting(),
                        task.component.name
                    ),
                );
                continue;
            }
            match self.resolve_parameter(body, argument, scope, state) {
                Ok(source) => {
                    let input = resource_input_name(body, argument);
                    let placeholder = serde_json::Value::String(resources::input_placeholder(&input));
                    task_spec.inputs.parameters.insert(
                        setting_input.to_owned(),
                        TaskInputParameter::RuntimeValue(RuntimeValue { constant: placeholder }).into(),
                    );
                    task_spec.inputs.parameters.insert(input, source);
                }
                Err(message) => self.error(Some(where_), field.setting(), message),
            }
        }
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

/// The group input a channel arrives as (`pipelinechannel--train-Output`).
fn channel_name(body: &Body, argument: &Argument) -> String {
    match argument {
        Argument::Constant(_) => String::new(),
        Argument::PipelineParam(name) | Argument::PipelineArtifact(name) => format!("pipelinechannel--{name}"),
        Argument::TaskParam { task, key } | Argument::TaskArtifact { task, key } => {
            let producer = body.task_keys.get(task.index).filter(|_| task.graph == body.graph.id);
            format!("pipelinechannel--{}-{key}", producer.map_or("?", String::as_str))
        }
        // kfp: the loop's output, named after the loop task (`pipelinechannel--for-loop-2-pipelinechannel--train-Output`).
        Argument::Collected { task, key, through } | Argument::CollectedArtifacts { task, key, through } => {
            let producer = body.task_keys.get(task.index).filter(|_| task.graph == body.graph.id);
            let loop_name = body.group_names.get(through.index).filter(|_| through.graph == body.graph.id);
            format!(
                "pipelinechannel--{}-pipelinechannel--{}-{key}",
                loop_name.map_or("?", String::as_str),
                producer.map_or("?", String::as_str)
            )
        }
        Argument::LoopItem { group, .. } | Argument::LoopArtifact { group } => item_input_name(body, group.index),
        Argument::OneOfParam(oneof) | Argument::OneOfArtifact(oneof) => oneof::input_name(body, *oneof),
    }
}

/// The task input a channel-valued resource setting arrives as: the channel's group-input name,
/// and for one field of a struct loop item kfp's `-subvar-<field>` after it.
fn resource_input_name(body: &Body, argument: &Argument) -> String {
    match argument {
        Argument::LoopItem { field: Some(field), .. } => format!("{}-subvar-{field}", channel_name(body, argument)),
        _ => channel_name(body, argument),
    }
}

/// The input a loop's item arrives as: `pipelinechannel--loop-item-param-N` for a literal list,
/// `<list input>-loop-item` for a list channel.
fn item_input_name(body: &Body, group: usize) -> String {
    match &body.graph.groups[group].kind {
        GroupKind::Loop(spec) => match &spec.items {
            LoopItems::Raw { number, .. } => format!("pipelinechannel--loop-item-param-{number}"),
            LoopItems::Parameter { list, .. } | LoopItems::Artifacts { list, .. } => {
                format!("{}-loop-item", channel_name(body, list))
            }
        },
        _ => String::new(),
    }
}

fn declare_input(definitions: &mut ComponentInputsSpec, name: &str, kind: &NeedKind) {
    match kind {
        NeedKind::Parameter(ty) => {
            definitions.parameters.insert(
                name.to_owned(),
                InputParameterSpec { default_value: None, description: None, is_optional: false, parameter_type: *ty },
            );
        }
        NeedKind::Artifact(schema, list) => {
            definitions.artifacts.insert(
                name.to_owned(),
                InputArtifactSpec {
                    artifact_type: schema.clone(),
                    description: None,
                    is_artifact_list: *list,
                    is_optional: false,
                },
            );
        }
    }
}

/// JSON as Python's `json.dumps` writes it (kfp's form for literal loop items).
fn python_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Array(items) => format!("[{}]", items.iter().map(python_json).collect::<Vec<_>>().join(", ")),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn retry(settings: &RetrySettings) -> RetryPolicy {
    RetryPolicy {
        backoff_duration: format!("{}s", settings.backoff_duration_s),
        backoff_factor: settings.backoff_factor,
        backoff_max_duration: format!("{}s", settings.backoff_max_duration_s),
        max_retry_count: i32::try_from(settings.max_retry_count).unwrap_or(i32::MAX),
    }
}

fn input_definitions(inputs: &[InputDef]) -> ComponentInputsSpec {
    let mut defs = ComponentInputsSpec::default();
    for input in inputs {
        match &input.kind {
            InputKind::Parameter { ty, optional, default } => {
                defs.parameters.insert(
                    input.name.to_owned(),
                    InputParameterSpec {
                        default_value: default.clone(),
                        description: None,
                        is_optional: *optional || default.is_some(),
                        parameter_type: *ty,
                    },
                );
            }
            InputKind::Artifact { schema, list, optional } => {
                defs.artifacts.insert(
                    input.name.to_owned(),
                    InputArtifactSpec {
                        artifact_type: schema.clone(),
                        description: None,
                        is_artifact_list: *list,
                        is_optional: *optional,
                    },
                );
            }
        }
    }
    defs
}

fn output_definitions(outputs: &[OutputDef]) -> ComponentOutputsSpec {
    let mut defs = ComponentOutputsSpec::default();
    for output in outputs {
        match &output.kind {
            OutputKind::Parameter(ty) => {
                defs.parameters
                    .insert(output.name.to_owned(), OutputParameterSpec { description: None, parameter_type: *ty });
            }
            OutputKind::Artifact { schema, list } => {
                defs.artifacts.insert(
                    output.name.to_owned(),
                    OutputArtifactSpec { artifact_type: schema.clone(), description: None, is_artifact_list: *list },
                );
            }
        }
    }
    defs
}
