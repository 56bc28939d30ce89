//! The launch flags of a distributed component's executor.
//!
//! A component with `distributed(nodes = N, nproc_per_node = M)` does not train in the KFP pod:
//! its executor runs the same binary as a PyTorchJob launcher,
//! `BINARY --launch-pytorchjob --nodes=N --nproc-per-node=M --image=IMG [--cpu-limit=..]
//! [--env=NAME=VALUE].. --executor-input {{$}} --function-to-execute NAME`, and the job's pods
//! run `BINARY --executor-input .. --function-to-execute NAME`. The flags carry what the job's
//! pods need (image, resources, env after task overrides), because the launcher pod itself asks
//! for no GPU. [`LaunchSpec::to_args`] writes them and [`LaunchSpec::parse_args`] reads them back.
//!
//! A resource the task reads from a parameter when it runs (`set_memory_limit(param)`) is a
//! `--memory-limit-from=INPUT` flag instead: the launcher takes INPUT's value from the executor
//! input, where KFP puts every input of the task (see [`LaunchSpec::to_args_reading`]).

use super::resources::{CPU, MEMORY};
use crate::dsl::{ContainerDef, Distributed, ResourceField, Resources, TaskOverrides, cpu_to_cores, memory_to_gb};
use serde_json::Value;
use std::collections::BTreeMap;

/// The first argument of a distributed component's executor.
pub const LAUNCH_FLAG: &str = "--launch-pytorchjob";

/// What the PyTorchJob for one task of a distributed component needs besides the executor input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaunchSpec {
    pub nodes: u32,
    pub nproc_per_node: u32,
    pub image: String,
    /// The component's resources with the task's overrides applied; per pod.
    pub resources: Resources,
    /// The component's env with the task's overrides applied (same order as the IR's).
    pub env: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LaunchArgsError {
    #[error(
        "{LAUNCH_FLAG}: flag {0:?} is not a launch flag (expected --nodes=, --nproc-per-node=, --image=, --cpu-limit=, --cpu-request=, --memory-limit=, --memory-request=, --accelerator=, each of these five also as --<flag>-from=INPUT, --env=NAME=VALUE)"
    )]
    Unknown(String),
    #[error("{LAUNCH_FLAG}: {flag}={input} needs the executor input (--executor-input JSON with inputs.parameterValues): {reason}")]
    NoExecutorInput { flag: &'static str, input: String, reason: String },
    #[error("{LAUNCH_FLAG}: {flag}={input}: the executor input has no parameter {input:?}")]
    MissingInput { flag: &'static str, input: String },
    #[error("{LAUNCH_FLAG}: {flag}={input}: {value} is not a {expected}")]
    BadResource { flag: &'static str, input: String, value: String, expected: &'static str },
    #[error("{LAUNCH_FLAG}: {flag}={value:?} is not a positive integer")]
    NotCount { flag: &'static str, value: String },
    #[error("{LAUNCH_FLAG}: --env={0:?} is not NAME=VALUE")]
    BadEnv(String),
    #[error("{LAUNCH_FLAG}: {0} is missing")]
    Missing(&'static str),
}

impl LaunchSpec {
    /// The spec of a task of a distributed component; `None` for any other container.
    pub fn for_task(container: &ContainerDef, overrides: &TaskOverrides) -> Option<Self> {
        let Distributed { nodes, nproc_per_node } = container.distributed?;
        let mut resources = container.resources.overlay(&overrides.resources);
        // One accelerator per process: the count follows nproc_per_node (the lowering rejects
        // a different explicit count).
        resources.accelerator_limit = resources.accelerator_type.as_ref().map(|_| nproc_per_node);
        Some(LaunchSpec {
            nodes,
            nproc_per_node,
            image: container.image.to_owned(),
            resources,
            env: merged_env(&container.env, &overrides.env),
        })
    }

    /// The launch flags, [`LAUNCH_FLAG`] first, one `--name=value` argument each.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            LAUNCH_FLAG.to_owned(),
            format!("--nodes={}", self.nodes),
            format!("--nproc-per-node={}", self.nproc_per_node),
            format!("--image={}", self.image),
        ];
        let r = &self.resources;
        let optional = [
            ("--cpu-limit", &r.cpu_limit),
            ("--cpu-request", &r.cpu_request),
            ("--memory-limit", &r.memory_limit),
            ("--memory-request", &r.memory_request),
            ("--accelerator", &r.accelerator_type),
        ];
        args.extend(optional.into_iter().filter_map(|(flag, value)| Some(format!("{flag}={}", value.as_ref()?))));
        args.extend(self.env.iter().map(|(name, value)| format!("--env={name}={value}")));
        args
    }

    /// The launch flags when the task reads the `channel_inputs` settings from these inputs
    /// when it runs: `--<flag>-from=INPUT` in place of each literal. `Err` names the setting
    /// that cannot be read so: the accelerator count, which follows `nproc_per_node`.
    pub(crate) fn to_args_reading(&self, channel_inputs: &BTreeMap<ResourceField, String>) -> Result<Vec<String>, ResourceField> {
        let mut literals = self.clone();
        let mut reading = Vec::new();
        for (field, input) in channel_inputs {
            let (flag, slot) = read_flag(&mut literals.resources, *field).ok_or(*field)?;
            *slot = None;
            reading.push(format!("{flag}={input}"));
        }
        let mut args = literals.to_args();
        args.extend(reading);
        Ok(args)
    }

    /// Reads the launch flags that follow [`LAUNCH_FLAG`] up to the first argument that is not
    /// one of them; returns the spec and the remaining arguments (the executor's).
    pub fn parse_args(args: &[String]) -> Result<(Self, Vec<String>), LaunchArgsError> {
        let start = args.iter().position(|a| a == LAUNCH_FLAG).map_or(0, |i| i + 1);
        let mut spec = LaunchSpec::default();
        let mut image = None;
        let mut reading = Vec::new();
        let mut rest = args[..start.saturating_sub(1)].to_vec();
        let mut flags = args[start..].iter();
        for arg in flags.by_ref() {
            if arg.starts_with("--executor-input") || arg.starts_with("--executor_input") {
                rest.push(arg.clone());
                break;
            }
            let Some((flag, value)) = arg.split_once('=') else {
                return Err(LaunchArgsError::Unknown(arg.clone()));
            };
            let value = value.to_owned();
            match flag {
                "--nodes" => spec.nodes = count("--nodes", value)?,
                "--nproc-per-node" => spec.nproc_per_node = count("--nproc-per-node", value)?,
                "--image" => image = Some(value),
                "--cpu-limit" => spec.resources.cpu_limit = Some(value),
                "--cpu-request" => spec.resources.cpu_request = Some(value),
                "--memory-limit" => spec.resources.memory_limit = Some(value),
                "--memory-request" => spec.resources.memory_request = Some(value),
                "--accelerator" => spec.resources.accelerator_type = Some(value),
                "--env" => match value.split_once('=') {
                    Some((name, v)) if !name.is_empty() => spec.env.push((name.to_owned(), v.to_owned())),
                    _ => return Err(LaunchArgsError::BadEnv(value)),
                },
                _ => match FROM_INPUT_FLAGS.iter().find(|(_, from)| *from == flag) {
                    Some((field, from)) => reading.push((*field, *from, value)),
                    None => return Err(LaunchArgsError::Unknown(arg.clone())),
                },
            }
        }
        rest.extend(flags.cloned());
        if let Some((_, flag, input)) = reading.first() {
            let parameters = executor_parameters(&rest)
                .map_err(|reason| LaunchArgsError::NoExecutorInput { flag, input: input.clone(), reason })?;
            for (field, flag, input) in reading {
                let value = resource_value(&parameters, field, flag, input)?;
                if let Some((_, slot)) = read_flag(&mut spec.resources, field) {
                    *slot = Some(value);
                }
            }
        }
        if spec.nodes == 0 {
            return Err(LaunchArgsError::Missing("--nodes"));
        }
        if spec.nproc_per_node == 0 {
            return Err(LaunchArgsError::Missing("--nproc-per-node"));
        }
        spec.image = image.ok_or(LaunchArgsError::Missing("--image"))?;
        if spec.resources.accelerator_type.is_some() {
            spec.resources.accelerator_limit = Some(spec.nproc_per_node);
        }
        Ok((spec, rest))
    }
}

fn count(flag: &'static str, value: String) -> Result<u32, LaunchArgsError> {
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(LaunchArgsError::NotCount { flag, value }),
    }
}

/// Why a distributed task cannot read its accelerator count from a parameter or task output.
pub(crate) const COUNT_FROM_INPUT_UNSUPPORTED: &str = "a distributed component gets one accelerator per process \
    (nproc_per_node), so its accelerator count cannot come from a parameter or task output: drop the count";

/// The `-from` twin of each launch flag a task may read from an input when it runs.
const FROM_INPUT_FLAGS: [(ResourceField, &str); 5] = [
    (ResourceField::CpuLimit, "--cpu-limit-from"),
    (ResourceField::CpuRequest, "--cpu-request-from"),
    (ResourceField::MemoryLimit, "--memory-limit-from"),
    (ResourceField::MemoryRequest, "--memory-request-from"),
    (ResourceField::AcceleratorType, "--accelerator-from"),
];

/// The `-from` flag of a setting and its place in `resources`; `None` for the accelerator count.
fn read_flag(resources: &mut Resources, field: ResourceField) -> Option<(&'static str, &mut Option<String>)> {
    let (_, flag) = FROM_INPUT_FLAGS.iter().find(|(f, _)| *f == field)?;
    let slot = match field {
        ResourceField::CpuLimit => &mut resources.cpu_limit,
        ResourceField::CpuRequest => &mut resources.cpu_request,
        ResourceField::MemoryLimit => &mut resources.memory_limit,
        ResourceField::MemoryRequest => &mut resources.memory_request,
        ResourceField::AcceleratorType => &mut resources.accelerator_type,
        ResourceField::AcceleratorCount => return None,
    };
    Some((flag, slot))
}

/// `inputs.parameterValues` of the executor input that follows `--executor-input`.
fn executor_parameters(rest: &[String]) -> Result<serde_json::Map<String, Value>, String> {
    let flag = |a: &String| a == "--executor-input" || a == "--executor_input";
    let inline = rest.iter().find_map(|a| a.strip_prefix("--executor-input=").or_else(|| a.strip_prefix("--executor_input=")));
    let text = match inline {
        Some(text) => text,
        None => rest.iter().position(flag).and_then(|i| rest.get(i + 1)).ok_or("it is missing")?,
    };
    let input: Value = serde_json::from_str(text).map_err(|e| format!("it is not JSON: {e}"))?;
    let inputs = &input["inputs"];
    match inputs.get("parameterValues").or_else(|| inputs.get("parameter_values")) {
        Some(Value::Object(parameters)) => Ok(parameters.clone()),
        _ => Ok(serde_json::Map::new()),
    }
}

/// A resource's value read from the executor input, checked as the compiler checks a literal.
fn resource_value(
    parameters: &serde_json::Map<String, Value>,
    field: ResourceField,
    flag: &'static str,
    input: String,
) -> Result<String, LaunchArgsError> {
    let value = match parameters.get(&input) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(other) => other.to_string(),
        None => return Err(LaunchArgsError::MissingInput { flag, input }),
    };
    let (valid, expected) = match field {
        ResourceField::CpuLimit | ResourceField::CpuRequest => (cpu_to_cores(&value).is_some(), CPU),
        ResourceField::MemoryLimit | ResourceField::MemoryRequest => (memory_to_gb(&value).is_some(), MEMORY),
        _ => (!value.trim().is_empty(), "accelerator resource name (like \"nvidia.com/gpu\")"),
    };
    if valid { Ok(value) } else { Err(LaunchArgsError::BadResource { flag, input, value: format!("{value:?}"), expected }) }
}

/// Why a distributed task's explicit accelerator count cannot be used, if it cannot: each pod
/// gets one accelerator per process.
pub(crate) fn accelerator_conflict(container: &ContainerDef, resources: &Resources) -> Option<String> {
    let distributed = container.distributed?;
    let count = resources.accelerator_limit?;
    (count != distributed.nproc_per_node).then(|| {
        format!(
            "{count} accelerators per pod conflicts with distributed(nproc_per_node = {}): a distributed component \
             gets one accelerator per process; drop the count or change nproc_per_node",
            distributed.nproc_per_node
        )
    })
}

/// Like kfp's env dict: a task's setting replaces the component's value in place.
pub(crate) fn merged_env(component: &[(String, String)], task: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = component.to_vec();
    for (name, value) in task {
        match env.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => env.push((name.clone(), value.clone())),
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LaunchSpec {
        LaunchSpec {
            nodes: 4,
            nproc_per_node: 8,
            image: "ghcr.io/acme/trainer:0.1".into(),
            resources: Resources {
                cpu_limit: Some("16".into()),
                memory_limit: Some("64Gi".into()),
                accelerator_type: Some("nvidia.com/gpu".into()),
                accelerator_limit: Some(8),
                ..Default::default()
            },
            env: vec![("NCCL_DEBUG".into(), "INFO".into()), ("EQ".into(), "a=b".into())],
        }
    }

    fn executor_args() -> Vec<String> {
        ["--executor-input", "{{$}}", "--function-to-execute", "train"].map(String::from).to_vec()
    }

    #[test]
    fn args_round_trip_and_leave_the_executor_arguments() {
        let mut args = spec().to_args();
        assert_eq!(args[0], LAUNCH_FLAG);
        assert!(args.contains(&"--env=EQ=a=b".to_owned()));
        args.extend(executor_args());
        let (parsed, rest) = LaunchSpec::parse_args(&args).unwrap();
        assert_eq!(parsed, spec());
        assert_eq!(rest, executor_args());
    }

    #[test]
    fn bad_flags_are_named() {
        let with = |extra: &str| {
            let mut args = spec().to_args();
            args.push(extra.into());
            args.extend(executor_args());
            LaunchSpec::parse_args(&args).unwrap_err()
        };
        assert_eq!(with("--nodez=3"), LaunchArgsError::Unknown("--nodez=3".into()));
        assert_eq!(with("--nodes=0"), LaunchArgsError::NotCount { flag: "--nodes", value: "0".into() });
        assert_eq!(with("--env=NOVALUE"), LaunchArgsError::BadEnv("NOVALUE".into()));
        let no_image: Vec<String> = [LAUNCH_FLAG, "--nodes=2", "--nproc-per-node=1"].map(String::from).to_vec();
        assert_eq!(LaunchSpec::parse_args(&no_image).unwrap_err(), LaunchArgsError::Missing("--image"));
    }

    #[test]
    fn resources_read_from_inputs_resolve_from_the_executor_input() {
        let channel_inputs = BTreeMap::from([
            (ResourceField::MemoryLimit, "pipelinechannel--memory".to_owned()),
            (ResourceField::AcceleratorType, "pipelinechannel--gpu".to_owned()),
        ]);
        let mut args = spec().to_args_reading(&channel_inputs).unwrap();
        assert!(args.contains(&"--memory-limit-from=pipelinechannel--memory".to_owned()), "{args:?}");
        assert!(!args.iter().any(|a| a.starts_with("--memory-limit=") || a.starts_with("--accelerator=")), "{args:?}");
        let parameters = serde_json::json!({"pipelinechannel--memory": "96Gi", "pipelinechannel--gpu": "amd.com/gpu"});
        let input = serde_json::json!({"inputs": {"parameterValues": parameters}}).to_string();
        args.extend(["--executor-input".to_owned(), input.clone(), "--function-to-execute".to_owned(), "train".to_owned()]);
        let (parsed, rest) = LaunchSpec::parse_args(&args).unwrap();
        let mut expected = spec();
        expected.resources.memory_limit = Some("96Gi".into());
        expected.resources.accelerator_type = Some("amd.com/gpu".into());
        assert_eq!(parsed, expected);
        assert_eq!(rest, ["--executor-input".to_owned(), input, "--function-to-execute".to_owned(), "train".to_owned()]);
    }

    #[test]
    fn resources_read_from_inputs_are_checked_at_launch() {
        let channel_inputs = BTreeMap::from([(ResourceField::CpuLimit, "pipelinechannel--cpu".to_owned())]);
        let launch = |parameters: serde_json::Value| {
            let mut args = spec().to_args_reading(&channel_inputs).unwrap();
            let input = serde_json::json!({"inputs": {"parameterValues": parameters}});
            args.extend(["--executor-input".to_owned(), input.to_string()]);
            LaunchSpec::parse_args(&args)
        };
        let (parsed, _) = launch(serde_json::json!({"pipelinechannel--cpu": 4})).unwrap();
        assert_eq!(parsed.resources.cpu_limit.as_deref(), Some("4"));
        assert_eq!(
            launch(serde_json::json!({})).unwrap_err(),
            LaunchArgsError::MissingInput { flag: "--cpu-limit-from", input: "pipelinechannel--cpu".into() }
        );
        assert_eq!(
            launch(serde_json::json!({"pipelinechannel--cpu": "lots"})).unwrap_err().to_string(),
            "--launch-pytorchjob: --cpu-limit-from=pipelinechannel--cpu: \"lots\" is not a CPU quantity (like \"8\" or \"500m\")"
        );
        let without_input = spec().to_args_reading(&channel_inputs).unwrap();
        assert!(matches!(LaunchSpec::parse_args(&without_input).unwrap_err(), LaunchArgsError::NoExecutorInput { .. }));
        let count = BTreeMap::from([(ResourceField::AcceleratorCount, "pipelinechannel--gpus".to_owned())]);
        assert_eq!(spec().to_args_reading(&count), Err(ResourceField::AcceleratorCount));
    }

    #[test]
    fn task_overrides_win_and_plain_containers_have_no_spec() {
        let mut container = ContainerDef {
            image: "img",
            env: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
            resources: Resources { memory_limit: Some("8Gi".into()), ..Default::default() },
            ..Default::default()
        };
        let overrides = TaskOverrides {
            env: vec![("A".into(), "9".into())],
            resources: Resources { memory_limit: Some("16Gi".into()), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(LaunchSpec::for_task(&container, &overrides), None);
        container.distributed = Some(Distributed { nodes: 2, nproc_per_node: 4 });
        let spec = LaunchSpec::for_task(&container, &overrides).unwrap();
        assert_eq!(spec.env, vec![("A".into(), "9".into()), ("B".into(), "2".into())]);
        assert_eq!(spec.resources.memory_limit.as_deref(), Some("16Gi"));
        assert_eq!((spec.nodes, spec.nproc_per_node), (2, 4));
    }
}
