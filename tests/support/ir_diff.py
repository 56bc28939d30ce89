"""Semantic diff of two KFP v2 IR files: a kfp-built GOLDEN and a kfp-rs-built OURS.

    python ir_diff.py GOLDEN OURS

Ignores only what must differ between a Python-built and a Rust-built spec: sdkVersion, the
container image/command/args, YAML key order and quoting, the names of component and executor
keys (each task's component and executor are inlined under the task), `2` vs `2.0`, old vs new
resource field forms (quantities compare in cores, bytes and counts), descriptions (kfp reads
docstrings its own way), the dangling `pipelinechannel--` inputs of kfp's invalid-IR quirk
(see `dangling_channels`), and in kfp's file only, the dependencies kfp leaves out for a
resource set from a task output (see `resource_producers`). Everything else must match.

Prints one line per difference and `N differences`; exits 0 iff there are none.
"""

import re
import sys

import yaml

MISSING = object()
CPU = re.compile(r"^([0-9]*\.?[0-9]+)(m?)$")
MEMORY = re.compile(r"^([0-9]*\.?[0-9]+)([EPTGMK]i?|k|m)?$")
MEMORY_FACTORS = {
    None: 1, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
# The deprecated numeric memory fields are in GB of 1e9 bytes.
GB = 1e9
# The task inputs kfp adds for a resource set from a channel; each holds a placeholder constant.
RESOURCE_INPUTS = {"cpu_limit", "cpu_request", "memory_limit", "memory_request", "accelerator_type", "accelerator_count"}
PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")


class Spec:
    """One IR file, with components and executors inlined under the tasks that use them."""

    def __init__(self, path, problems, kfp_quirks=False):
        with open(path, encoding="utf-8") as file:
            docs = [doc for doc in yaml.safe_load_all(file) if doc is not None]
        if not docs or not isinstance(docs[0], dict):
            raise ValueError(f"{path}: no pipeline document")
        self.spec = docs[0]
        platform = docs[1] if len(docs) > 1 else {}
        kubernetes = platform.get("platforms", {}).get("kubernetes", {})
        self.platform_executors = kubernetes.get("deploymentSpec", {}).get("executors", {})
        self.components = self.spec.get("components", {})
        self.executors = self.spec.get("deploymentSpec", {}).get("executors", {})
        self.used_components, self.used_executors = set(), set()
        self.problems = problems
        self.path = path
        self.kfp_quirks = kfp_quirks
        self.tree = self.normalize(kubernetes.get("pipelineConfig", MISSING))

    def normalize(self, pipeline_config):
        spec = self.spec
        info = {k: v for k, v in spec.get("pipelineInfo", {}).items() if k != "description"}
        tree = {
            "pipelineInfo": info,
            "schemaVersion": spec.get("schemaVersion", MISSING),
            "defaultPipelineRoot": spec.get("defaultPipelineRoot", MISSING),
            "root": self.component(spec.get("root", {})),
            "platformPipelineConfig": pipeline_config,
        }
        known = {"components", "deploymentSpec", "pipelineInfo", "schemaVersion", "sdkVersion",
                 "defaultPipelineRoot", "root"}
        for key in set(spec) - known:
            tree[key] = spec[key]
        for name in sorted(set(self.components) - self.used_components):
            self.problems.append(f"components.{name}: unused in {self.path}")
        for label in sorted(set(self.executors) - self.used_executors):
            self.problems.append(f"deploymentSpec.executors.{label}: unused in {self.path}")
        for label in sorted(set(self.platform_executors) - self.used_executors):
            self.problems.append(f"platforms.kubernetes.deploymentSpec.executors.{label}: names no used executor in {self.path}")
        return {k: v for k, v in tree.items() if v is not MISSING}

    def component(self, component):
        out = {}
        declared = set(component.get("inputDefinitions", {}).get("parameters", {}))
        for key, value in component.items():
            if key in ("inputDefinitions", "outputDefinitions"):
                out[key] = without_descriptions(value)
            elif key == "dag":
                out["dag"] = self.dag(value, declared)
            elif key == "executorLabel":
                self.used_executors.add(value)
                out["executor"] = self.executor(value)
            else:
                out[key] = value
        return out

    def dag(self, dag, declared):
        out = dict(dag)
        out["tasks"] = {key: self.task(task, declared) for key, task in dag.get("tasks", {}).items()}
        return out

    def task(self, task, declared):
        dangling = dangling_channels(task, declared)
        implied = resource_producers(task) if self.kfp_quirks else set()
        out = {"dependentTasks": sorted(implied)} if implied else {}
        for key, value in task.items():
            if key == "componentRef":
                name = value.get("name")
                self.used_components.add(name)
                out["component"] = self.component(self.components.get(name, {"unresolved": name}))
                for channel in dangling:
                    out["component"].get("inputDefinitions", {}).get("parameters", {}).pop(channel, None)
            elif key == "dependentTasks":
                out[key] = sorted(set(value) | implied)
            elif key == "inputs" and dangling:
                parameters = {k: v for k, v in value.get("parameters", {}).items() if k not in dangling}
                out[key] = {**value, "parameters": parameters}
            else:
                out[key] = value
        return out

    def executor(self, label):
        executor = dict(self.executors.get(label, {"unresolved": label}))
        if "container" in executor:
            container = {k: v for k, v in executor["container"].items() if k not in ("image", "command", "args")}
            if "resources" in container:
                container["resources"] = resources(container["resources"], self.problems, f"{self.path} {label}")
            executor["container"] = container
        if label in self.platform_executors:
            executor["platform"] = self.platform_executors[label]
        return executor


def dangling_channels(task, declared):
    """Injected `pipelinechannel--` inputs that read a parent input the parent does not declare.

    kfp 2.17 writes these for a loop over a literal list of dicts inside an ExitHandler or If
    (its known invalid-IR quirk); the graph does not need them, so they are left out of the
    comparison. validate_ir.py rejects them, so kfp-rs output cannot hide one here.
    """
    return {
        name
        for name, source in task.get("inputs", {}).get("parameters", {}).items()
        if name.startswith("pipelinechannel--")
        and "componentInputParameter" in source
        and source["componentInputParameter"] not in declared
    }


def resource_producers(task):
    """Producers of the task outputs that the task's resource settings read. kfp 2.17 leaves them
    out of `dependentTasks` (it adds the resource inputs after computing them), so the backend
    could start the task before its producer ended; kfp-rs must write them (validate_ir.py
    rejects a task output read without its dependency)."""
    parameters = task.get("inputs", {}).get("parameters", {})
    read = {
        name
        for setting in RESOURCE_INPUTS & set(parameters)
        for name in PLACEHOLDER.findall(str(parameters[setting].get("runtimeValue", {}).get("constant", "")))
    }
    return {
        parameters[name]["taskOutputParameter"]["producerTask"]
        for name in read
        if "taskOutputParameter" in parameters.get(name, {})
    }


def without_descriptions(definitions):
    out = {}
    for kind, entries in definitions.items():
        if isinstance(entries, dict):
            out[kind] = {
                name: {k: v for k, v in entry.items() if k != "description"} if isinstance(entry, dict) else entry
                for name, entry in entries.items()
            }
        else:
            out[kind] = entries
    return out


def cpu_cores(text):
    match = CPU.match(str(text))
    if not match:
        return text  # a placeholder or an unparseable value compares verbatim
    value = float(match.group(1))
    return value / 1000 if match.group(2) else value


def memory_bytes(text):
    match = MEMORY.match(str(text))
    if not match:
        return text
    return round(float(match.group(1)) * MEMORY_FACTORS[match.group(2)])


def resources(spec, problems, where):
    """One quantity per resource, whichever field form (or both) the file uses."""
    fields = [
        ("cpuLimit", "resourceCpuLimit", cpu_cores, lambda v: float(v)),
        ("cpuRequest", "resourceCpuRequest", cpu_cores, lambda v: float(v)),
        ("memoryLimit", "resourceMemoryLimit", memory_bytes, lambda v: round(float(v) * GB)),
        ("memoryRequest", "resourceMemoryRequest", memory_bytes, lambda v: round(float(v) * GB)),
    ]
    out = {}
    for old, new, parse_new, parse_old in fields:
        values = []
        if new in spec:
            values.append(parse_new(spec[new]))
        if old in spec:
            values.append(parse_old(spec[old]))
        if len(values) == 2 and not same_number(values[0], values[1]):
            problems.append(f"{where}: resources.{new} {spec[new]!r} disagrees with {old} {spec[old]!r}")
        if values:
            out[old] = values[0]
    accelerator = spec.get("accelerator")
    if accelerator is not None:
        kinds = {accelerator[k] for k in ("resourceType", "type") if k in accelerator}
        counts = {count(accelerator[k]) for k in ("resourceCount", "count") if k in accelerator}
        if len(kinds) > 1 or len(counts) > 1:
            problems.append(f"{where}: accelerator fields disagree: {accelerator}")
        out["accelerator"] = {"type": sorted(kinds)[0] if kinds else MISSING, "count": sorted(counts, key=str)[0] if counts else 1}
    for key in set(spec) - {f for pair in fields for f in pair[:2]} - {"accelerator"}:
        out[key] = spec[key]
    return out


def count(text):
    """An accelerator count as a number; a placeholder compares verbatim."""
    return int(text) if str(text).isdigit() else text


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same_number(a, b):
    return is_number(a) and is_number(b) and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def show(value):
    return "<absent>" if value is MISSING else repr(value)


def compare(path, golden, ours, out):
    if is_number(golden) and is_number(ours):
        if not same_number(golden, ours):
            out.append(f"{path}: golden {golden!r}, ours {ours!r}")
    elif isinstance(golden, dict) and isinstance(ours, dict):
        for key in sorted(set(golden) | set(ours), key=str):
            compare(f"{path}.{key}" if path else str(key), golden.get(key, MISSING), ours.get(key, MISSING), out)
    elif isinstance(golden, list) and isinstance(ours, list):
        if len(golden) != len(ours):
            out.append(f"{path}: golden has {len(golden)} items, ours {len(ours)}: golden {golden!r}, ours {ours!r}")
        else:
            for i, (g, o) in enumerate(zip(golden, ours)):
                compare(f"{path}[{i}]", g, o, out)
    elif type(golden) is not type(ours) or golden != ours:
        out.append(f"{path}: golden {show(golden)}, ours {show(ours)}")


def diff(golden_path, ours_path):
    differences = []
    golden = Spec(golden_path, differences, kfp_quirks=True)
    ours = Spec(ours_path, differences)
    compare("", golden.tree, ours.tree, differences)
    return differences


def main(argv):
    if len(argv) != 2:
        print("usage: ir_diff.py GOLDEN OURS", file=sys.stderr)
        return 2
    try:
        differences = diff(*argv)
    except (OSError, yaml.YAMLError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in differences:
        print(line)
    print(f"{len(differences)} differences")
    return 0 if not differences else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
