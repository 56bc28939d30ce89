//! One task: its component and executor (container, importer, backend op or nested pipeline),
//! caching, retry and Kubernetes settings, its inputs, dependencies and exit-handler trigger.

use super::definitions::{input_definitions, output_definitions};
use super::inputs::resource_input_name;
use super::{Body, Lowering, ScopeState};
use crate::compile::names::sanitize_k8s_name;
use crate::compile::platform;
use crate::dsl::{Argument, GroupKind, Implementation, InputKind, Node, Resources, RetrySettings};
use crate::ir::*;

impl Lowering<'_> {
    pub(super) fn lower_task(&mut self, body: &mut Body, i: usize, scope: Option<usize>, state: &mut ScopeState) -> PipelineTaskSpec {
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
}

fn retry(settings: &RetrySettings) -> RetryPolicy {
    RetryPolicy {
        backoff_duration: format!("{}s", settings.backoff_duration_s),
        backoff_factor: settings.backoff_factor,
        backoff_max_duration: format!("{}s", settings.backoff_max_duration_s),
        max_retry_count: i32::try_from(settings.max_retry_count).unwrap_or(i32::MAX),
    }
}
