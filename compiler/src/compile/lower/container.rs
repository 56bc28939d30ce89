//! A container task's executor: image, command and args (with the distributed launcher's),
//! env and resources, and resource settings read from channels.

use super::inputs::resource_input_name;
use super::{Body, Lowering, ScopeState};
use crate::compile::launch::{self, LaunchSpec};
use crate::compile::resources;
use crate::dsl::{Argument, ComponentDef, ContainerDef, Implementation, ResourceField, Resources, TaskNode};
use crate::ir::*;
use std::collections::BTreeMap;

impl Lowering<'_> {
    pub(super) fn lower_container(
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
    pub(super) fn lower_resource_inputs(
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
}
