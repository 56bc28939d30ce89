//! The launch flags of a distributed component's executor.
//!
//! A component with `distributed(nodes = N, nproc_per_node = M)` does not train in the KFP pod:
//! its executor runs the same binary as a PyTorchJob launcher,
//! `BINARY --launch-pytorchjob --nodes=N --nproc-per-node=M --image=IMG [--cpu-limit=..]
//! [--env=NAME=VALUE].. --executor-input {{$}} --function-to-execute NAME`, and the job's pods
//! run `BINARY --executor-input .. --function-to-execute NAME`. The flags carry what the job's
//! pods need (image, resources, env after task overrides), because the launcher pod itself asks
//! for no GPU. [`LaunchSpec::to_args`] writes them and [`LaunchSpec::parse_args`] reads them back.

use crate::dsl::{ContainerDef, Distributed, Resources, TaskOverrides};

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
        "{LAUNCH_FLAG}: flag {0:?} is not a launch flag (expected --nodes=, --nproc-per-node=, --image=, --cpu-limit=, --cpu-request=, --memory-limit=, --memory-request=, --accelerator=, --env=NAME=VALUE)"
    )]
    Unknown(String),
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

    /// Reads the launch flags that follow [`LAUNCH_FLAG`] up to the first argument that is not
    /// one of them; returns the spec and the remaining arguments (the executor's).
    pub fn parse_args(args: &[String]) -> Result<(Self, Vec<String>), LaunchArgsError> {
        let start = args.iter().position(|a| a == LAUNCH_FLAG).map_or(0, |i| i + 1);
        let mut spec = LaunchSpec::default();
        let mut image = None;
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
                _ => return Err(LaunchArgsError::Unknown(arg.clone())),
            }
        }
        rest.extend(flags.cloned());
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
