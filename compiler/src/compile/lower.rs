//! Lowering: the DSL graph becomes IR structs, with kfp's names and layout.

use super::error::{CompileError, CompileErrors};
use super::names::{UniqueNames, sanitize_k8s_name};
use super::pipeline::{CompileOptions, PipelineDef};
use crate::dsl::{
    Argument, ComponentDef, ContainerDef, Graph, Implementation, InputDef, InputKind, OutputDef, OutputKind,
    Resources, RetrySettings, TaskNode, cpu_to_cores, memory_to_gb,
};
use crate::ir::*;
use std::collections::{BTreeMap, BTreeSet};

const SDK_VERSION: &str = concat!("kfp-rs-", env!("CARGO_PKG_VERSION"));

pub(super) struct Lowering<'a> {
    pipeline: &'a PipelineDef,
    options: &'a CompileOptions,
    /// Component names are unique across the whole spec (`comp-train`, `comp-train-2`).
    component_names: UniqueNames,
    components: BTreeMap<String, ComponentSpec>,
    executors: BTreeMap<String, ExecutorSpec>,
    errors: Vec<CompileError>,
}

impl<'a> Lowering<'a> {
    pub(super) fn new(pipeline: &'a PipelineDef, options: &'a CompileOptions) -> Self {
        Self {
            pipeline,
            options,
            component_names: UniqueNames::default(),
            components: BTreeMap::new(),
            executors: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    pub(super) fn lower(mut self) -> Result<PipelineSpec, CompileErrors> {
        let pipeline = self.pipeline;
        let name = sanitize_k8s_name(pipeline.name);
        if name.is_empty() {
            self.error(None, "name", format!("{:?} has no letters or digits to name the pipeline", pipeline.name));
        }
        let dag = self.lower_graph(&pipeline.graph, "");
        let root = ComponentSpec {
            dag: Some(dag),
            input_definitions: input_definitions(&pipeline.inputs),
            ..Default::default()
        };
        if !self.errors.is_empty() {
            return Err(CompileErrors(self.errors));
        }
        Ok(PipelineSpec {
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
        })
    }

    /// `path` is the chain of enclosing graph tasks, for error messages (`inner/`).
    fn lower_graph(&mut self, graph: &Graph, path: &str) -> DagSpec {
        let mut task_names = UniqueNames::default();
        let keys: Vec<String> =
            graph.tasks.iter().map(|t| task_names.claim(&sanitize_k8s_name(t.component.name))).collect();
        let mut tasks = BTreeMap::new();
        for (task, key) in graph.tasks.iter().zip(&keys) {
            let where_ = format!("{path}{key}");
            let spec = self.lower_task(graph, task, &keys, &where_);
            tasks.insert(key.clone(), spec);
        }
        DagSpec { outputs: DagOutputsSpec::default(), tasks }
    }

    fn lower_task(&mut self, graph: &Graph, task: &TaskNode, keys: &[String], where_: &str) -> PipelineTaskSpec {
        let component = &task.component;
        let base = sanitize_k8s_name(component.name);
        let unique = self.component_names.claim(&base);
        let component_key = format!("comp-{unique}");
        let mut spec = ComponentSpec {
            input_definitions: input_definitions(&component.inputs),
            output_definitions: output_definitions(&component.outputs),
            ..Default::default()
        };
        let caching;
        let retry_policy;
        let mut display_name = task.overrides.display_name.clone();
        match &component.implementation {
            Implementation::Container(container) => {
                let executor_key = format!("exec-{unique}");
                let executor = self.lower_container(component, container, task, where_);
                self.executors.insert(executor_key.clone(), ExecutorSpec { container: executor });
                spec.executor_label = Some(executor_key);
                let enabled = task.overrides.caching.unwrap_or(container.caching && self.options.enable_caching);
                caching = Some(CachingOptions { cache_key: None, enable_cache: enabled });
                retry_policy = task.overrides.retry.as_ref().or(container.retry.as_ref()).map(retry);
                display_name = display_name.or_else(|| container.display_name.clone());
            }
            Implementation::Graph(inner) => {
                spec.dag = Some(self.lower_graph(inner, &format!("{where_}/")));
                let enabled = task.overrides.caching.unwrap_or(self.options.enable_caching);
                caching = Some(CachingOptions { cache_key: None, enable_cache: enabled });
                retry_policy = task.overrides.retry.as_ref().map(retry);
                // kfp rejects these on a pipeline task too: a DAG has no container to set them on.
                if task.overrides.resources != Resources::default() || !task.overrides.env.is_empty() {
                    self.error(
                        Some(where_),
                        "resources/env",
                        format!(
                            "`{}` is a pipeline: CPU, memory, accelerator and env settings apply to component tasks only",
                            component.name
                        ),
                    );
                }
            }
        }
        self.components.insert(component_key.clone(), spec);

        let mut inputs = TaskInputsSpec::default();
        let mut dependencies = BTreeSet::new();
        for (name, argument) in &task.arguments {
            let foreign = argument.producer().filter(|p| p.graph != graph.id || p.index >= keys.len());
            if foreign.is_some() {
                self.error(
                    Some(where_),
                    &format!("inputs.{name}"),
                    "uses an output of a task from another pipeline body".into(),
                );
                continue;
            }
            let producer = |index: usize| keys[index].clone();
            match argument {
                Argument::Constant(value) => {
                    inputs.parameters.insert(
                        name.to_string(),
                        TaskInputParameter::RuntimeValue(RuntimeValue { constant: value.clone() }),
                    );
                }
                Argument::PipelineParam(input) => {
                    inputs
                        .parameters
                        .insert(name.to_string(), TaskInputParameter::ComponentInputParameter(input.to_string()));
                }
                Argument::TaskParam { task: from, key } => {
                    dependencies.insert(producer(from.index));
                    inputs.parameters.insert(
                        name.to_string(),
                        TaskInputParameter::TaskOutputParameter(TaskOutputParameterSpec {
                            output_parameter_key: key.to_string(),
                            producer_task: producer(from.index),
                        }),
                    );
                }
                Argument::PipelineArtifact(input) => {
                    inputs
                        .artifacts
                        .insert(name.to_string(), TaskInputArtifact::ComponentInputArtifact(input.to_string()));
                }
                Argument::TaskArtifact { task: from, key } => {
                    dependencies.insert(producer(from.index));
                    inputs.artifacts.insert(
                        name.to_string(),
                        TaskInputArtifact::TaskOutputArtifact(TaskOutputArtifactSpec {
                            output_artifact_key: key.to_string(),
                            producer_task: producer(from.index),
                        }),
                    );
                }
            }
        }
        for upstream in &task.after {
            if upstream.graph != graph.id || upstream.index >= keys.len() {
                self.error(Some(where_), "after", "names a task from another pipeline body".into());
            } else {
                dependencies.insert(keys[upstream.index].clone());
            }
        }
        let key = where_.rsplit('/').next().unwrap_or(where_).to_owned();
        PipelineTaskSpec {
            caching_options: caching,
            component_ref: ComponentRef { name: component_key },
            dependent_tasks: dependencies.into_iter().collect(),
            inputs,
            retry_policy,
            task_info: PipelineTaskInfo { name: display_name.unwrap_or(key) },
            trigger_policy: None,
        }
    }

    fn lower_container(
        &mut self,
        component: &ComponentDef,
        container: &ContainerDef,
        task: &TaskNode,
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
        ContainerSpec {
            args: vec![
                "--executor-input".into(),
                "{{$}}".into(),
                "--function-to-execute".into(),
                component.name.into(),
            ],
            command: vec![container.binary.into()],
            env: env.into_iter().map(|(name, value)| EnvVar { name, value }).collect(),
            image: container.image.into(),
            resources: self.lower_resources(&resources, where_),
        }
    }

    fn lower_resources(&mut self, resources: &Resources, where_: &str) -> Option<ResourceSpec> {
        let mut spec = ResourceSpec::default();
        let cpu = |field: &'static str, value: &Option<String>, this: &mut Self| {
            let value = value.as_ref()?;
            let cores = cpu_to_cores(value);
            if cores.is_none() {
                this.error(Some(where_), field, format!("{value:?} is not a CPU quantity (like \"8\" or \"500m\")"));
            }
            Some((value.clone(), cores?))
        };
        if let Some((text, cores)) = cpu("cpu_limit", &resources.cpu_limit, self) {
            (spec.resource_cpu_limit, spec.cpu_limit) = (Some(text), Some(cores));
        }
        if let Some((text, cores)) = cpu("cpu_request", &resources.cpu_request, self) {
            (spec.resource_cpu_request, spec.cpu_request) = (Some(text), Some(cores));
        }
        let memory = |field: &'static str, value: &Option<String>, this: &mut Self| {
            let value = value.as_ref()?;
            let gb = memory_to_gb(value);
            if gb.is_none() {
                this.error(Some(where_), field, format!("{value:?} is not a memory quantity (like \"32Gi\" or \"512M\")"));
            }
            Some((value.clone(), gb?))
        };
        if let Some((text, gb)) = memory("memory_limit", &resources.memory_limit, self) {
            (spec.resource_memory_limit, spec.memory_limit) = (Some(text), Some(gb));
        }
        if let Some((text, gb)) = memory("memory_request", &resources.memory_request, self) {
            (spec.resource_memory_request, spec.memory_request) = (Some(text), Some(gb));
        }
        match (&resources.accelerator_type, resources.accelerator_limit) {
            (Some(kind), count) => {
                // kfp: setting the type alone implies one accelerator.
                let count = count.unwrap_or(1).to_string();
                spec.accelerator = Some(AcceleratorConfig {
                    count: count.clone(),
                    resource_count: count,
                    resource_type: kind.clone(),
                    accelerator_type: kind.clone(),
                });
            }
            (None, Some(_)) => self.error(
                Some(where_),
                "accelerator_limit",
                "an accelerator count needs an accelerator type (like \"nvidia.com/gpu\")".into(),
            ),
            (None, None) => {}
        }
        (spec != ResourceSpec::default()).then_some(spec)
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
