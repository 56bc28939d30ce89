//! `Collected`: a task output gathered across the iterations of a loop, surfaced as a list
//! output by every group from the producer up to the loop.

use super::{Body, Lowering, ScopeState};
use crate::dsl::{Argument, OutputKind};
use crate::ir::*;

/// Where a consumer reads a list gathered from a loop.
pub(super) enum Gathered {
    /// Beside the loop: the loop task's output.
    FromLoop { loop_task: String, output: String },
    /// Deeper in a group: an input of that group.
    GroupInput(String),
}

impl Lowering<'_> {
    /// A task output gathered across the iterations of a loop (`Collected`): every group from
    /// the producer up to that loop exposes it as a list output (kfp's
    /// `pipelinechannel--<task>-<output>`); a consumer beside the loop reads the loop task's
    /// output, a deeper one gets it as a group input.
    pub(super) fn resolve_collected(
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
    pub(super) fn lower_collected_output(&mut self, body: &Body, name: &str, source: &Argument, dag: &mut DagSpec, path: &str) {
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
}
