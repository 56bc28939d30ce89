//! Control-flow groups (conditions, loops, branches, exit handlers): each becomes a DAG
//! component of its own, with a trigger policy or an iterator on the task that runs it.

use super::definitions::declare_input;
use super::inputs::item_input_name;
use super::{Body, Lowering, NeedKind, ScopeState};
use crate::compile::cel;
use crate::dsl::{Argument, GroupKind, LoopItems};
use crate::ir::*;

impl Lowering<'_> {
    pub(super) fn lower_group(&mut self, body: &mut Body, g: usize, scope: Option<usize>, state: &mut ScopeState) -> PipelineTaskSpec {
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
