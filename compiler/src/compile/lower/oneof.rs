//! Lowering `OneOf` as kfp 2.17 does: each branch group (`condition-2`) surfaces its task's
//! output as `pipelinechannel--<task>-<output>`, the `condition-branches-N` group selects
//! among them as `pipelinechannel--condition-branches-N-oneof-M` (`valueFromOneof` for
//! parameters, one artifact selector per branch for artifacts), and consumers read that output
//! of the group task. Outputs are surfaced only for OneOfs that are used, like kfp.

use super::{Body, Lowering, Need, NeedKind, ScopeState};
use crate::dsl::{Argument, GroupKind, OneOfId, OneOfNode, OutputKind};
use crate::ir::*;
use std::collections::BTreeMap;

/// One channel of a `OneOf`: its branch group, its task, and the task's output key.
type Pick = (usize, usize, &'static str);

/// A `OneOf` that passed the checks.
pub(super) struct PlannedOneOf {
    /// The `condition-branches-N` group it picks from.
    pub(super) group: usize,
    /// Its output on that group: `pipelinechannel--condition-branches-N-oneof-M`.
    output: String,
    pub(super) kind: NeedKind,
    /// Per channel, in the order given.
    picks: Vec<Pick>,
}

/// How a consumer reads a `OneOf`.
pub(super) enum OneOfSource {
    /// The output of the branches group, a task of the consumer's own DAG.
    GroupOutput { producer_task: String, key: String },
    /// An input of the consumer's enclosing group, passed down from the branches group's DAG.
    GroupInput(String),
}

impl Lowering<'_> {
    /// Checks every `OneOf` of the body and names it; `None` for one that failed (reported).
    pub(super) fn plan_oneofs(&mut self, body: &Body) -> Vec<Option<PlannedOneOf>> {
        let mut numbers: BTreeMap<usize, u32> = BTreeMap::new();
        let mut plans = Vec::new();
        for node in &body.graph.oneofs {
            let names: Vec<String> = node.channels.iter().map(|c| describe(body, c)).collect();
            let plan = check(body, node, &names).and_then(|(group, picks)| {
                let (_, task, key) = picks[0];
                let output = body.graph.tasks[task].component.outputs.iter().find(|o| o.name == key);
                let kind = match output.map(|o| &o.kind) {
                    Some(OutputKind::Artifact { schema, list }) => NeedKind::Artifact(schema.clone(), *list),
                    Some(OutputKind::Parameter(ty)) => NeedKind::Parameter(*ty),
                    None => return Err(format!("{} names an output its component does not declare", names[0])),
                };
                // kfp numbers the OneOfs of each branches group in creation order.
                let number = numbers.entry(group).or_insert(0);
                *number += 1;
                let output = format!("pipelinechannel--{}-oneof-{number}", body.group_names[group]);
                Ok(PlannedOneOf { group, output, kind, picks })
            });
            match plan {
                Ok(plan) => plans.push(Some(plan)),
                Err(message) => {
                    self.error(None, &format!("{}OneOf", body.path), message);
                    plans.push(None);
                }
            }
        }
        plans
    }

    /// How a `OneOf` reaches a task (or group input) in `scope`: from the branches group when
    /// it is in `scope`, else as an input that every enclosing group passes down.
    pub(super) fn resolve_oneof(
        &mut self,
        body: &Body,
        argument: &Argument,
        oneof: OneOfId,
        scope: Option<usize>,
        state: &mut ScopeState,
    ) -> Result<OneOfSource, String> {
        let plan = planned(body, oneof).ok_or_else(invalid)?;
        let home = body.graph.groups[plan.group].parent;
        if body.graph.encloses(Some(plan.group), scope) {
            return Err(format!(
                "uses a OneOf inside the If/Elif/Else it picks from ({}): its value exists only once the chain has run",
                body.group_names[plan.group]
            ));
        }
        if scope == home {
            self.surface(body, plan);
            let producer_task = body.group_names[plan.group].clone();
            state.dependencies.insert(producer_task.clone());
            return Ok(OneOfSource::GroupOutput { producer_task, key: plan.output.clone() });
        }
        if !body.graph.encloses(home, scope) {
            return Err(format!(
                "uses a OneOf of {} outside the scope of that If/Elif/Else: only tasks next to it or nested below can read it",
                body.group_names[plan.group]
            ));
        }
        let input = input_name(body, oneof);
        state.needs.insert(input.clone(), Need { source: argument.clone(), kind: plan.kind.clone() });
        Ok(OneOfSource::GroupInput(input))
    }

    /// A `OneOf` returned by the pipeline: kfp allows only one at the top level.
    pub(super) fn oneof_pipeline_output(
        &mut self,
        body: &Body,
        oneof: OneOfId,
        name: &str,
        outputs: &mut DagOutputsSpec,
    ) -> Result<(), String> {
        let plan = planned(body, oneof).ok_or_else(invalid)?;
        if body.graph.groups[plan.group].parent.is_some() {
            return Err(format!(
                "a pipeline returns a OneOf only from the top level; this one picks from {}, which is inside a condition, loop or exit handler",
                body.group_names[plan.group]
            ));
        }
        self.surface(body, plan);
        let producer_subtask = body.group_names[plan.group].clone();
        let key = plan.output.clone();
        match plan.kind {
            NeedKind::Parameter(_) => {
                let selector = ParameterSelector { output_parameter_key: key, producer_subtask };
                outputs.parameters.insert(name.to_owned(), DagOutputParameterSpec::ValueFromParameter(selector));
            }
            NeedKind::Artifact(..) => {
                let selector = ArtifactSelector { output_artifact_key: key, producer_subtask };
                outputs.artifacts.insert(name.to_owned(), DagOutputArtifactSpec { artifact_selectors: vec![selector] });
            }
        }
        Ok(())
    }

    /// Declares the OneOf's outputs on each branch group and on the branches group (idempotent).
    fn surface(&mut self, body: &Body, plan: &PlannedOneOf) {
        let mut parameter_selectors = Vec::new();
        let mut artifact_selectors = Vec::new();
        for &(branch, task, key) in &plan.picks {
            let task_key = body.task_keys[task].clone();
            let surfaced = format!("pipelinechannel--{task_key}-{key}");
            let branch_name = body.group_names[branch].clone();
            match &plan.kind {
                NeedKind::Parameter(_) => {
                    let selector = ParameterSelector { output_parameter_key: key.to_owned(), producer_subtask: task_key };
                    self.declare_output(body, branch, &surfaced, &plan.kind, |outputs| {
                        outputs.parameters.insert(surfaced.clone(), DagOutputParameterSpec::ValueFromParameter(selector));
                    });
                    parameter_selectors
                        .push(ParameterSelector { output_parameter_key: surfaced, producer_subtask: branch_name });
                }
                NeedKind::Artifact(..) => {
                    let selector = ArtifactSelector { output_artifact_key: key.to_owned(), producer_subtask: task_key };
                    self.declare_output(body, branch, &surfaced, &plan.kind, |outputs| {
                        outputs.artifacts.insert(surfaced.clone(), DagOutputArtifactSpec { artifact_selectors: vec![selector] });
                    });
                    artifact_selectors.push(ArtifactSelector { output_artifact_key: surfaced, producer_subtask: branch_name });
                }
            }
        }
        self.declare_output(body, plan.group, &plan.output, &plan.kind, |outputs| match plan.kind {
            NeedKind::Parameter(_) => {
                let oneof = ParameterSelectors { parameter_selectors };
                outputs.parameters.insert(plan.output.clone(), DagOutputParameterSpec::ValueFromOneof(oneof));
            }
            NeedKind::Artifact(..) => {
                outputs.artifacts.insert(plan.output.clone(), DagOutputArtifactSpec { artifact_selectors });
            }
        });
    }

    /// Adds output `name` to the component of `group`: its definition, and through `select`
    /// where its DAG takes the value from.
    fn declare_output(&mut self, body: &Body, group: usize, name: &str, kind: &NeedKind, select: impl FnOnce(&mut DagOutputsSpec)) {
        let Some(component) = body.group_components.get(&group).and_then(|key| self.components.get_mut(key)) else {
            // Groups are lowered before anything that can read their outputs.
            debug_assert!(false, "group {} is not lowered yet", body.group_names[group]);
            return;
        };
        let definitions = &mut component.output_definitions;
        match kind {
            NeedKind::Parameter(ty) => {
                definitions.parameters.insert(name.to_owned(), OutputParameterSpec { description: None, parameter_type: *ty });
            }
            NeedKind::Artifact(schema, list) => {
                definitions.artifacts.insert(
                    name.to_owned(),
                    OutputArtifactSpec { artifact_type: schema.clone(), description: None, is_artifact_list: *list },
                );
            }
        }
        if let Some(dag) = component.dag.as_mut() {
            select(&mut dag.outputs);
        }
    }
}

/// The checked `OneOf`, if it belongs to this body and passed the checks.
pub(super) fn planned<'b>(body: &'b Body, oneof: OneOfId) -> Option<&'b PlannedOneOf> {
    (oneof.graph == body.graph.id).then(|| body.oneofs.get(oneof.index)?.as_ref()).flatten()
}

/// The group input a `OneOf` arrives as below its branches group's DAG, named as kfp names
/// any channel passed down (`pipelinechannel--<producer>-<output>`).
pub(super) fn input_name(body: &Body, oneof: OneOfId) -> String {
    match planned(body, oneof) {
        Some(plan) => format!("pipelinechannel--{}-{}", body.group_names[plan.group], plan.output),
        None => "pipelinechannel--?".to_owned(),
    }
}

fn invalid() -> String {
    "uses a OneOf that did not compile (see the OneOf error) or that belongs to another pipeline body".to_owned()
}

/// kfp's rules (every channel is a task output directly inside a branch of one
/// `condition-branches` group, which ends in Else) plus ours: each branch gives exactly one
/// channel, so exactly one value exists whichever branch runs. Returns the group and the picks.
fn check(body: &Body, node: &OneOfNode, names: &[String]) -> Result<(usize, Vec<Pick>), String> {
    let graph = body.graph;
    if node.channels.is_empty() {
        return Err("OneOf needs one output from each branch of an If/Elif/Else; it was given none".into());
    }
    let mut picks = Vec::new();
    for (channel, name) in node.channels.iter().zip(names) {
        let (task, key) = match channel {
            Argument::TaskParam { task, key } | Argument::TaskArtifact { task, key } if task.graph == graph.id => (task.index, *key),
            _ => return Err(format!("OneOf picks between task outputs; {name} is not one")),
        };
        let branch = graph.tasks[task].parent.filter(|&g| matches!(graph.groups[g].kind, GroupKind::Condition(_)));
        let group = branch.and_then(|b| graph.groups[b].parent).filter(|&g| matches!(graph.groups[g].kind, GroupKind::Branches));
        match (branch, group) {
            (Some(branch), Some(_)) => picks.push((branch, task, key)),
            _ => {
                let place = graph.tasks[task].parent.map_or("at the top level".to_owned(), |g| format!("in {}", body.group_names[g]));
                return Err(format!(
                    "{name} is {place}: OneOf takes outputs of tasks placed directly in the branches of an If with Elif or Else"
                ));
            }
        }
    }
    let group = graph.groups[picks[0].0].parent.expect("checked above");
    for (&(branch, _, _), name) in picks.iter().zip(names).skip(1) {
        let other = graph.groups[branch].parent.expect("checked above");
        if other != group {
            return Err(format!(
                "{} is in {} but {name} in {}: OneOf picks between the branches of one If/Elif/Else",
                names[0], body.group_names[group], body.group_names[other]
            ));
        }
    }
    for (i, &(branch, _, _)) in picks.iter().enumerate() {
        if let Some(j) = picks[..i].iter().position(|&(b, _, _)| b == branch) {
            return Err(format!(
                "{} and {} are in the same branch ({}), so both run: OneOf picks between mutually exclusive branches",
                names[j], names[i], body.group_names[branch]
            ));
        }
    }
    let branches: Vec<usize> = (0..graph.groups.len()).filter(|&g| graph.groups[g].parent == Some(group)).collect();
    let last = *branches.last().expect("a branches group has branches");
    if !is_else(body, &branches, last) {
        return Err(format!(
            "{} has no Else: when no branch runs, OneOf has no value (kfp requires an output from an Else branch)",
            body.group_names[group]
        ));
    }
    if let Some(missing) = branches.iter().find(|b| !picks.iter().any(|p| p.0 == **b)) {
        return Err(format!(
            "branch {} of {} gives no output: when it runs, OneOf has no value",
            body.group_names[*missing],
            body.group_names[group]
        ));
    }
    Ok((group, picks))
}

/// Whether `branch` is the chain's Else: `Elif` number k carries the k negated earlier
/// conditions plus its own, `Else` only the negated ones.
fn is_else(body: &Body, branches: &[usize], branch: usize) -> bool {
    let position = branches.iter().position(|&b| b == branch).unwrap_or(0);
    match &body.graph.groups[branch].kind {
        GroupKind::Condition(conditions) => position > 0 && conditions.len() == position,
        _ => false,
    }
}

/// A channel as an error names it: `say` (the task key) or what it is instead.
fn describe(body: &Body, channel: &Argument) -> String {
    match channel {
        Argument::TaskParam { task, key } | Argument::TaskArtifact { task, key } if task.graph == body.graph.id => {
            format!("`{}` (output {key})", body.task_keys[task.index])
        }
        Argument::TaskParam { .. } | Argument::TaskArtifact { .. } => "an output of another pipeline body".into(),
        Argument::PipelineParam(name) | Argument::PipelineArtifact(name) => format!("pipeline input `{name}`"),
        Argument::LoopItem { .. } | Argument::LoopArtifact { .. } => "a ParallelFor item".into(),
        Argument::Collected { .. } => "a Collected(..) list".into(),
        Argument::OneOfParam(_) | Argument::OneOfArtifact(_) => "another OneOf".into(),
        _ => "not a task output".into(),
    }
}
