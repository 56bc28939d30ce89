//! Structural checks of an IR spec: references resolve, types fit, required inputs are given,
//! no cycles. The compiler runs them before writing; `kfp validate` runs them on any file.

use super::error::CompileError;
use crate::ir::*;
use std::collections::{BTreeMap, HashMap};

/// One problem, located by its path in the spec (`root.dag.tasks.train.inputs.parameters.lr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub(super) fn into_error(self, pipeline: &str) -> CompileError {
        CompileError { pipeline: pipeline.to_owned(), task: None, field: self.path, message: self.message }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Checks a spec; `Err` lists every problem found.
pub fn validate(spec: &PipelineSpec) -> Result<(), Vec<Problem>> {
    let mut check = Checker { spec, problems: Vec::new() };
    check.header();
    check.component("root", &spec.root);
    for (name, component) in &spec.components {
        check.component(&format!("components.{name}"), component);
    }
    for (label, executor) in &spec.deployment_spec.executors {
        match (&executor.container, &executor.importer) {
            (Some(container), None) if container.image.trim().is_empty() => {
                check.problem(format!("deploymentSpec.executors.{label}.container.image"), "is empty".into());
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => check.problem(format!("deploymentSpec.executors.{label}"), "needs exactly one of container and importer".into()),
        }
    }
    if check.problems.is_empty() { Ok(()) } else { Err(check.problems) }
}

struct Checker<'a> {
    spec: &'a PipelineSpec,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: String, message: String) {
        self.problems.push(Problem { path, message });
    }

    fn header(&mut self) {
        if self.spec.schema_version != SCHEMA_VERSION {
            self.problem(
                "schemaVersion".into(),
                format!("is {:?}; the KFP API server accepts only {SCHEMA_VERSION:?}", self.spec.schema_version),
            );
        }
        if self.spec.pipeline_info.name.is_empty() {
            self.problem("pipelineInfo.name".into(), "is empty".into());
        }
        if self.spec.root.dag.is_none() {
            self.problem("root".into(), "has no dag".into());
        }
    }

    fn component(&mut self, path: &str, component: &ComponentSpec) {
        for (name, parameter) in &component.input_definitions.parameters {
            if let Some(default) = &parameter.default_value
                && !parameter.parameter_type.accepts(default)
            {
                self.problem(
                    format!("{path}.inputDefinitions.parameters.{name}.defaultValue"),
                    format!("{default} does not fit {}", parameter.parameter_type.as_str()),
                );
            }
        }
        match (&component.dag, &component.executor_label) {
            (Some(dag), None) => self.dag(path, component, dag),
            (None, Some(label)) => {
                if !self.spec.deployment_spec.executors.contains_key(label) {
                    self.problem(format!("{path}.executorLabel"), format!("executor {label:?} does not exist"));
                }
            }
            _ => self.problem(path.to_owned(), "needs exactly one of dag and executorLabel".into()),
        }
    }

    fn dag(&mut self, path: &str, parent: &ComponentSpec, dag: &DagSpec) {
        let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (key, task) in &dag.tasks {
            let task_path = format!("{path}.dag.tasks.{key}");
            let deps = edges.entry(key.as_str()).or_default();
            for dep in &task.dependent_tasks {
                if dep == key {
                    self.problems.push(Problem { path: format!("{task_path}.dependentTasks"), message: "depends on itself".into() });
                } else if !dag.tasks.contains_key(dep) {
                    self.problems.push(Problem {
                        path: format!("{task_path}.dependentTasks"),
                        message: format!("task {dep:?} is not in this DAG"),
                    });
                } else {
                    deps.push(dep.as_str());
                }
            }
            let Some(component) = self.spec.components.get(&task.component_ref.name) else {
                self.problem(
                    format!("{task_path}.componentRef.name"),
                    format!("component {:?} does not exist", task.component_ref.name),
                );
                continue;
            };
            self.task_inputs(&task_path, parent, dag, task, component);
        }
        if let Some(cycle) = find_cycle(&edges) {
            self.problem(format!("{path}.dag"), format!("tasks form a cycle: {}", cycle.join(" -> ")));
        }
    }

    fn task_inputs(
        &mut self,
        path: &str,
        parent: &ComponentSpec,
        dag: &DagSpec,
        task: &PipelineTaskSpec,
        component: &ComponentSpec,
    ) {
        let declared = &component.input_definitions;
        self.resource_placeholders(path, component, task);
        let injected = injected_channels(task);
        for (name, input) in &task.inputs.parameters {
            let at = format!("{path}.inputs.parameters.{name}");
            let Some(def) = declared.parameters.get(name) else {
                match resource_setting_read(name, input) {
                    _ if injected.contains(name.as_str()) => self.injected_source(&at, parent, dag, task, input),
                    Some(read) if !task.inputs.parameters.contains_key(read) => {
                        self.problem(at, format!("holds the placeholder of input {read:?}, which the task does not give"));
                    }
                    Some(_) => {}
                    None => {
                        self.problem(at, format!("component {:?} has no parameter input {name:?}", task.component_ref.name))
                    }
                }
                continue;
            };
            let ty = def.parameter_type;
            match &input.source {
                TaskInputParameter::TaskFinalStatus(status) => {
                    if ty != ParameterType::TaskFinalStatus {
                        self.problem(at, format!("a task final status cannot feed a {} input", ty.as_str()));
                    } else if !dag.tasks.contains_key(&status.producer_task) {
                        self.problem(at, format!("producer task {:?} is not in this DAG", status.producer_task));
                    }
                }
                TaskInputParameter::RuntimeValue(RuntimeValue { constant }) => {
                    if !ty.accepts(constant) {
                        self.problem(at, format!("constant {constant} does not fit {}", ty.as_str()));
                    }
                }
                TaskInputParameter::ComponentInputParameter(source) => {
                    match parent.input_definitions.parameters.get(source) {
                        None => self.problem(at, format!("the enclosing component has no parameter input {source:?}")),
                        // A selector reads one field of a struct: its type is the field's.
                        Some(_) if input.parameter_expression_selector.is_some() => {}
                        Some(src) if !assignable(src.parameter_type, ty) => self.problem(
                            at,
                            format!("input {source:?} is {} but this input is {}", src.parameter_type.as_str(), ty.as_str()),
                        ),
                        Some(_) => {}
                    }
                }
                TaskInputParameter::TaskOutputParameter(out) => {
                    let produced = self.producer_output(dag, &out.producer_task).map(|c| {
                        c.output_definitions.parameters.get(&out.output_parameter_key).map(|p| p.parameter_type)
                    });
                    match produced {
                        None => self.problem(at, format!("producer task {:?} is not in this DAG", out.producer_task)),
                        Some(None) => self.problem(
                            at,
                            format!("task {:?} has no output parameter {:?}", out.producer_task, out.output_parameter_key),
                        ),
                        Some(Some(src)) if !assignable(src, ty) => self.problem(
                            at,
                            format!("output {:?} is {} but this input is {}", out.output_parameter_key, src.as_str(), ty.as_str()),
                        ),
                        Some(Some(_)) => self.need_dependency(&at, task, &out.producer_task),
                    }
                }
            }
        }
        for (name, input) in &task.inputs.artifacts {
            let at = format!("{path}.inputs.artifacts.{name}");
            let Some(def) = declared.artifacts.get(name) else {
                self.problem(at, format!("component {:?} has no artifact input {name:?}", task.component_ref.name));
                continue;
            };
            let source_type = match input {
                TaskInputArtifact::ComponentInputArtifact(source) => {
                    match parent.input_definitions.artifacts.get(source) {
                        Some(src) => Some(src.artifact_type.clone()),
                        None => {
                            self.problem(at.clone(), format!("the enclosing component has no artifact input {source:?}"));
                            None
                        }
                    }
                }
                TaskInputArtifact::TaskOutputArtifact(out) => {
                    let produced = self.producer_output(dag, &out.producer_task).map(|c| {
                        c.output_definitions.artifacts.get(&out.output_artifact_key).map(|a| a.artifact_type.clone())
                    });
                    match produced {
                        None => {
                            self.problem(at.clone(), format!("producer task {:?} is not in this DAG", out.producer_task));
                            None
                        }
                        Some(None) => {
                            self.problem(
                                at.clone(),
                                format!("task {:?} has no output artifact {:?}", out.producer_task, out.output_artifact_key),
                            );
                            None
                        }
                        Some(Some(t)) => {
                            self.need_dependency(&at, task, &out.producer_task);
                            Some(t)
                        }
                    }
                }
            };
            if let Some(src) = source_type
                && def.artifact_type.schema_title != "system.Artifact"
                && src.schema_title != def.artifact_type.schema_title
            {
                self.problem(at, format!("gets a {} artifact but expects {}", src.schema_title, def.artifact_type.schema_title));
            }
        }
        // A loop's item arrives from its iterator, not from the task's inputs.
        let item = task.parameter_iterator.as_ref().map(|i| &i.item_input);
        let item_artifact = task.artifact_iterator.as_ref().map(|i| &i.item_input);
        let required = declared.parameters.iter().filter(|(_, p)| !p.is_optional && p.default_value.is_none());
        for (name, _) in required {
            if Some(name) != item && !task.inputs.parameters.contains_key(name) {
                self.problem(format!("{path}.inputs.parameters"), format!("required input {name:?} is not given"));
            }
        }
        for (name, _) in declared.artifacts.iter().filter(|(_, a)| !a.is_optional) {
            if Some(name) != item_artifact && !task.inputs.artifacts.contains_key(name) {
                self.problem(format!("{path}.inputs.artifacts"), format!("required input {name:?} is not given"));
            }
        }
    }

    /// Every placeholder in the container's resources (a setting read from a channel) names an
    /// input this task gives.
    fn resource_placeholders(&mut self, path: &str, component: &ComponentSpec, task: &PipelineTaskSpec) {
        let executor = component.executor_label.as_ref().and_then(|label| self.spec.deployment_spec.executors.get(label));
        let Some(resources) = executor.and_then(|e| e.container.as_ref()).and_then(|c| c.resources.as_ref()) else {
            return;
        };
        let accelerator = resources.accelerator.as_ref();
        let fields = [
            ("resourceCpuLimit", resources.resource_cpu_limit.as_ref()),
            ("resourceCpuRequest", resources.resource_cpu_request.as_ref()),
            ("resourceMemoryLimit", resources.resource_memory_limit.as_ref()),
            ("resourceMemoryRequest", resources.resource_memory_request.as_ref()),
            ("accelerator.resourceType", accelerator.and_then(|a| a.resource_type.as_ref())),
            ("accelerator.resourceCount", accelerator.and_then(|a| a.resource_count.as_ref())),
        ];
        for (field, value) in fields {
            if let Some(input) = value.and_then(|v| placeholder_input(v))
                && !task.inputs.parameters.contains_key(input)
            {
                self.problem(
                    format!("{path}.inputs.parameters"),
                    format!("its container's resources.{field} reads input {input:?}, which the task does not give"),
                );
            }
        }
    }

    /// An input kfp adds for a resource read from a channel has no declaration (so no type) to
    /// check against: its source must exist, and an upstream output needs its dependency.
    fn injected_source(
        &mut self,
        at: &str,
        parent: &ComponentSpec,
        dag: &DagSpec,
        task: &PipelineTaskSpec,
        input: &TaskInputParameterSpec,
    ) {
        match &input.source {
            TaskInputParameter::ComponentInputParameter(source) if !parent.input_definitions.parameters.contains_key(source) => {
                self.problem(at.to_owned(), format!("the enclosing component has no parameter input {source:?}"));
            }
            TaskInputParameter::TaskOutputParameter(out) => {
                let produced = self.producer_output(dag, &out.producer_task).map(|c| {
                    c.output_definitions.parameters.contains_key(&out.output_parameter_key)
                });
                match produced {
                    None => self.problem(at.to_owned(), format!("producer task {:?} is not in this DAG", out.producer_task)),
                    Some(false) => self.problem(
                        at.to_owned(),
                        format!("task {:?} has no output parameter {:?}", out.producer_task, out.output_parameter_key),
                    ),
                    Some(true) => self.need_dependency(at, task, &out.producer_task),
                }
            }
            _ => {}
        }
    }

    fn producer_output(&self, dag: &DagSpec, producer: &str) -> Option<&ComponentSpec> {
        let task = dag.tasks.get(producer)?;
        self.spec.components.get(&task.component_ref.name)
    }

    fn need_dependency(&mut self, at: &str, task: &PipelineTaskSpec, producer: &str) {
        if !task.dependent_tasks.iter().any(|d| d == producer) {
            self.problem(at.to_owned(), format!("reads task {producer:?} but dependentTasks does not list it"));
        }
    }
}

/// The input that an input kfp adds for a resource setting read from a channel (`cpu_limit`,
/// ... `accelerator_count`) holds the placeholder of: `None` for any other input.
fn resource_setting_read<'t>(name: &str, input: &'t TaskInputParameterSpec) -> Option<&'t str> {
    if !crate::dsl::ResourceField::ALL.iter().any(|field| field.input_name() == name) {
        return None;
    }
    match &input.source {
        TaskInputParameter::RuntimeValue(RuntimeValue { constant }) => placeholder_input(constant.as_str()?),
        _ => None,
    }
}

/// The `pipelinechannel--` inputs that the task's resource-setting inputs read.
fn injected_channels(task: &PipelineTaskSpec) -> std::collections::BTreeSet<&str> {
    (task.inputs.parameters.iter())
        .filter_map(|(name, input)| resource_setting_read(name, input))
        .filter(|read| read.starts_with("pipelinechannel--"))
        .collect()
}

/// `NAME` of a text that is exactly `{{$.inputs.parameters['NAME']}}`.
fn placeholder_input(text: &str) -> Option<&str> {
    text.strip_prefix("{{$.inputs.parameters['")?.strip_suffix("']}}").filter(|name| !name.contains('\''))
}

/// Whether a value of type `from` may feed an input of type `to` (kfp lets ints feed floats).
fn assignable(from: ParameterType, to: ParameterType) -> bool {
    from == to || (from == ParameterType::NumberInteger && to == ParameterType::NumberDouble)
}

/// A cycle in `task -> dependencies`, as a path that starts and ends at the same task.
fn find_cycle<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut HashMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Active) => {
                let start = stack.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Active);
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    edges.keys().find_map(|node| visit(node, edges, &mut marks, &mut Vec::new()))
}
