"""Judges KFP v2 IR YAML files the way kfp 2.17 and its API server do.

    python validate_ir.py FILE...

Per file: the YAML holds one or two documents; the pipeline document parses strictly as
`PipelineSpec`, its `deploymentSpec` as `PipelineDeploymentConfig`, the optional platform
document as `PlatformSpec` (and each Kubernetes executor config as `KubernetesExecutorConfig`);
the API server's rules hold (schemaVersion 2.1.0, a valid name, a root DAG); the graph is
consistent (every reference resolves, no cycles, required inputs supplied, defaults and
constants typed); and `kfp.components.load_component_from_file` accepts it.

Prints `OK FILE` or `FAIL FILE: reason; reason...` per file; exits 1 if any file fails.
"""

import re
import sys

import yaml
from google.protobuf import json_format
from kfp import components
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

SCHEMA_VERSION = "2.1.0"
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Inputs kfp injects into a task without declaring them in the component.
INJECTED_PREFIX = "pipelinechannel--"
# The inputs kfp adds for a resource set from a channel; each holds a placeholder constant.
RESOURCE_INPUTS = {"cpu_limit", "cpu_request", "memory_limit", "memory_request", "accelerator_type", "accelerator_count"}
INPUT_PARAMETER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
# `{{$.inputs.parameters['x']}}`, `{{$.outputs.artifacts['m'].path}}`, ... in container args.
PLACEHOLDER = re.compile(r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\]")


def strict_parse(value, message, where, problems):
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        problems.append(f"{where} is not a valid {type(message).__name__}: {error}")


def check_protos(docs, problems):
    spec = docs[0]
    strict_parse(spec, pipeline_spec_pb2.PipelineSpec(), "pipeline document", problems)
    strict_parse(
        spec.get("deploymentSpec", {}),
        pipeline_spec_pb2.PipelineDeploymentConfig(),
        "deploymentSpec",
        problems,
    )
    if len(docs) == 2:
        platform = docs[1]
        strict_parse(platform, pipeline_spec_pb2.PlatformSpec(), "platform document", problems)
        executors = (
            platform.get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {}).get("executors", {})
        )
        for label, config in executors.items():
            strict_parse(
                config,
                kubernetes_executor_config_pb2.KubernetesExecutorConfig(),
                f"platform executor {label}",
                problems,
            )


def check_server_rules(spec, problems):
    if spec.get("schemaVersion") != SCHEMA_VERSION:
        problems.append(f"schemaVersion is {spec.get('schemaVersion')!r}, the API server wants {SCHEMA_VERSION!r}")
    name = spec.get("pipelineInfo", {}).get("name", "")
    if not K8S_NAME.match(name):
        problems.append(f"pipelineInfo.name {name!r} is not a Kubernetes name")
    if "dag" not in spec.get("root", {}):
        problems.append("root has no dag")


def fits(parameter_type, value):
    """Whether a JSON value fits a parameter type; integers may arrive as integral doubles."""
    if parameter_type == "STRING":
        return isinstance(value, str)
    if parameter_type == "BOOLEAN":
        return isinstance(value, bool)
    if parameter_type == "NUMBER_INTEGER":
        return not isinstance(value, bool) and isinstance(value, (int, float)) and float(value).is_integer()
    if parameter_type == "NUMBER_DOUBLE":
        return not isinstance(value, bool) and isinstance(value, (int, float))
    if parameter_type == "LIST":
        return isinstance(value, list)
    if parameter_type in ("STRUCT", "TASK_FINAL_STATUS"):
        return isinstance(value, dict)
    return False


class Graph:
    """Reference checks over components, executors and DAGs."""

    def __init__(self, spec, problems):
        self.components = spec.get("components", {})
        self.executors = spec.get("deploymentSpec", {}).get("executors", {})
        self.problems = problems
        self.used_components = set()
        self.used_executors = set()

    def check(self, root):
        self.check_definitions("root", root)
        self.check_component("root", root)
        for name, component in self.components.items():
            self.check_definitions(f"components.{name}", component)
        for name in sorted(set(self.components) - self.used_components):
            self.problems.append(f"components.{name} is never used by a task")
        for label in sorted(set(self.executors) - self.used_executors):
            self.problems.append(f"deploymentSpec.executors.{label} is never used by a component")

    def check_definitions(self, where, component):
        parameters = component.get("inputDefinitions", {}).get("parameters", {})
        for name, parameter in parameters.items():
            if "defaultValue" in parameter and not fits(parameter.get("parameterType"), parameter["defaultValue"]):
                self.problems.append(
                    f"{where}.inputDefinitions.parameters.{name}.defaultValue {parameter['defaultValue']!r} "
                    f"is not a {parameter.get('parameterType')}"
                )

    def check_component(self, where, component):
        has_dag, label = "dag" in component, component.get("executorLabel")
        if has_dag == (label is not None):
            self.problems.append(f"{where} needs exactly one of dag and executorLabel")
        if label is not None:
            if label not in self.executors:
                self.problems.append(f"{where}.executorLabel {label!r} names no executor")
            else:
                self.check_placeholders(where, component, self.executors[label])
            self.used_executors.add(label)
        if has_dag:
            self.check_dag(where, component)

    def check_placeholders(self, where, component, executor):
        container = executor.get("container", {})
        for text in container.get("command", []) + container.get("args", []):
            for direction, kind, name in PLACEHOLDER.findall(text):
                declared = component.get(f"{direction[:-1]}Definitions", {}).get(kind, {})
                if name not in declared:
                    self.problems.append(
                        f"{where}: a container placeholder reads {direction}.{kind}[{name!r}], which is not declared"
                    )

    def check_dag(self, where, component):
        dag = component["dag"]
        tasks = dag.get("tasks", {})
        own_inputs = component.get("inputDefinitions", {})
        for key, task in tasks.items():
            self.check_task(f"{where}.dag.tasks.{key}", task, tasks, own_inputs)
        self.check_cycles(where, tasks)
        self.check_dag_outputs(where, component, tasks)

    def check_dag_outputs(self, where, component, tasks):
        """Every declared output of a DAG is produced, and every selector names a real output."""
        dag_outputs = component["dag"].get("outputs", {})
        for kind, key in (("artifacts", "outputArtifactKey"), ("parameters", "outputParameterKey")):
            declared = component.get("outputDefinitions", {}).get(kind, {})
            produced = dag_outputs.get(kind, {})
            for name in sorted(set(declared) - set(produced)):
                self.problems.append(f"{where} declares output {kind}.{name} but its dag.outputs do not produce it")
            for name, output in produced.items():
                if name not in declared:
                    self.problems.append(f"{where}.dag.outputs.{kind}.{name} is not in outputDefinitions")
                for selector in selectors_of(output):
                    producer = selector.get("producerSubtask")
                    if producer not in tasks:
                        self.problems.append(f"{where}.dag.outputs.{kind}.{name} selects unknown task {producer!r}")
                        continue
                    producer_component = self.components.get(tasks[producer].get("componentRef", {}).get("name"), {})
                    if selector.get(key) not in producer_component.get("outputDefinitions", {}).get(kind, {}):
                        self.problems.append(
                            f"{where}.dag.outputs.{kind}.{name} selects output {selector.get(key)!r} that {producer!r} lacks"
                        )

    def check_task(self, where, task, siblings, parent_inputs):
        ref = task.get("componentRef", {}).get("name")
        component = self.components.get(ref)
        if component is None:
            self.problems.append(f"{where}.componentRef {ref!r} names no component")
            return
        if ref not in self.used_components:
            self.used_components.add(ref)
            self.check_component(f"components.{ref}", component)
        dependencies = task.get("dependentTasks", [])
        self.check_resource_inputs(where, component, task.get("inputs", {}).get("parameters", {}))
        for upstream in dependencies:
            if upstream not in siblings:
                self.problems.append(f"{where}.dependentTasks names unknown task {upstream!r}")
        declared = component.get("inputDefinitions", {})
        given = task.get("inputs", {})
        for kind, output_kind in (("parameters", "Parameter"), ("artifacts", "Artifact")):
            declared_kind = declared.get(kind, {})
            for name, source in given.get(kind, {}).items():
                if name not in declared_kind and not name.startswith(INJECTED_PREFIX) and not is_resource_input(name, source):
                    self.problems.append(f"{where}.inputs.{kind}.{name} is not an input of {ref}")
                self.check_source(f"{where}.inputs.{kind}.{name}", source, output_kind, siblings, dependencies,
                                  parent_inputs.get(kind, {}), declared_kind.get(name))
            # A ParallelFor's loop item is supplied by its iterator, not by a task input.
            iterator = task.get(f"{output_kind.lower()}Iterator", {})
            supplied = set(given.get(kind, {})) | ({iterator["itemInput"]} if "itemInput" in iterator else set())
            items_from = iterator.get("items", {}).get(f"input{output_kind}")
            if items_from is not None and items_from not in given.get(kind, {}):
                self.problems.append(f"{where} iterates over {items_from!r}, which is not one of its inputs")
            for name, definition in declared_kind.items():
                if not definition.get("isOptional") and name not in supplied:
                    self.problems.append(f"{where} does not supply required input {kind}.{name} of {ref}")

    def check_resource_inputs(self, where, component, given):
        """A resource read from a channel is a placeholder for a task input: every task of the
        component supplies it."""
        container = self.executors.get(component.get("executorLabel"), {}).get("container", {})
        for name in sorted(set(INPUT_PARAMETER.findall(str(container.get("resources", {}))))):
            if name not in given:
                self.problems.append(f"{where}: its resources read inputs.parameters[{name!r}], which the task does not supply")

    def check_source(self, where, source, output_kind, siblings, dependencies, parent_inputs, definition):
        output_key = f"output{output_kind}Key"
        producer_spec = source.get(f"taskOutput{output_kind}")
        if producer_spec is not None:
            producer = producer_spec.get("producerTask")
            if producer not in siblings:
                self.problems.append(f"{where}.producerTask {producer!r} is not a task of this DAG")
                return
            if producer not in dependencies:
                self.problems.append(f"{where} reads task {producer!r} that is missing from dependentTasks")
            producer_component = self.components.get(siblings[producer].get("componentRef", {}).get("name"), {})
            outputs = producer_component.get("outputDefinitions", {}).get(f"{output_kind.lower()}s", {})
            if producer_spec.get(output_key) not in outputs:
                self.problems.append(f"{where} reads output {producer_spec.get(output_key)!r} that {producer!r} lacks")
        final_status = source.get("taskFinalStatus")
        if final_status is not None and final_status.get("producerTask") not in siblings:
            self.problems.append(f"{where}.taskFinalStatus names unknown task {final_status.get('producerTask')!r}")
        parent_name = source.get(f"componentInput{output_kind}")
        if parent_name is not None and parent_name not in parent_inputs:
            self.problems.append(f"{where} reads {parent_name!r}, which the enclosing component does not declare")
        runtime = source.get("runtimeValue")
        if runtime is not None and definition is not None:
            constant = runtime.get("constant")
            if not fits(definition.get("parameterType"), constant):
                self.problems.append(f"{where} constant {constant!r} is not a {definition.get('parameterType')}")

    def check_cycles(self, where, tasks):
        state = {}

        def visit(key):
            state[key] = "open"
            for upstream in tasks[key].get("dependentTasks", []):
                if upstream not in tasks:
                    continue
                if state.get(upstream) == "open":
                    return [upstream, key]
                if upstream not in state:
                    cycle = visit(upstream)
                    if cycle:
                        return cycle + [key]
            state[key] = "done"
            return None

        for key in tasks:
            if key not in state:
                cycle = visit(key)
                if cycle:
                    self.problems.append(f"{where}.dag has a dependency cycle: {' -> '.join(cycle)}")
                    return


def is_resource_input(name, source):
    """kfp's input for a resource set from a channel: its constant is the placeholder."""
    constant = source.get("runtimeValue", {}).get("constant")
    return name in RESOURCE_INPUTS and isinstance(constant, str) and INPUT_PARAMETER.fullmatch(constant) is not None


def selectors_of(output):
    """The selectors of a DAG output: artifact selectors, a parameter selector, or a oneof's."""
    if "artifactSelectors" in output:
        return output["artifactSelectors"]
    if "valueFromParameter" in output:
        return [output["valueFromParameter"]]
    return output.get("valueFromOneof", {}).get("parameterSelectors", [])


def validate(path):
    problems = []
    try:
        with open(path, encoding="utf-8") as file:
            docs = [doc for doc in yaml.safe_load_all(file) if doc is not None]
    except (OSError, yaml.YAMLError) as error:
        return [f"cannot read YAML: {error}"]
    if len(docs) not in (1, 2):
        return [f"has {len(docs)} YAML documents, expected 1 (pipeline) or 2 (pipeline, platform)"]
    if not all(isinstance(doc, dict) for doc in docs):
        return ["a YAML document is not a mapping"]
    check_protos(docs, problems)
    check_server_rules(docs[0], problems)
    Graph(docs[0], problems).check(docs[0].get("root", {}))
    try:
        components.load_component_from_file(path)
    except Exception as error:  # kfp raises many types; any of them means rejection
        problems.append(f"kfp.components.load_component_from_file: {type(error).__name__}: {error}")
    return problems


def main(paths):
    if not paths:
        print("usage: validate_ir.py FILE...", file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        problems = validate(path)
        if problems:
            failed = True
            reasons = "; ".join(" ".join(problem.split()) for problem in problems)
            print(f"FAIL {path}: {reasons}")
        else:
            print(f"OK {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
