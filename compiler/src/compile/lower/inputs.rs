//! How an argument reaches a task in a scope: directly (a constant, a pipeline input, a sibling
//! task's output, the loop item) or as an input of the enclosing group, which its parent then
//! passes down; and the names kfp gives those inputs (`pipelinechannel--...`).

use super::collected::Gathered;
use super::{Body, Lowering, Need, NeedKind, ScopeState, oneof};
use crate::dsl::{Argument, GroupKind, InputKind, LoopItems, OutputKind};
use crate::ir::*;

impl Lowering<'_> {
    /// How a parameter argument reaches a task in `scope`.
    pub(super) fn resolve_parameter(
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
    pub(super) fn resolve_artifact(
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
    pub(super) fn channel_need(&mut self, body: &Body, argument: &Argument) -> (String, Option<Need>) {
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
pub(super) fn resource_input_name(body: &Body, argument: &Argument) -> String {
    match argument {
        Argument::LoopItem { field: Some(field), .. } => format!("{}-subvar-{field}", channel_name(body, argument)),
        _ => channel_name(body, argument),
    }
}

/// The input a loop's item arrives as: `pipelinechannel--loop-item-param-N` for a literal list,
/// `<list input>-loop-item` for a list channel.
pub(super) fn item_input_name(body: &Body, group: usize) -> String {
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
