//! Lowering of a task's Kubernetes settings to `KubernetesExecutorConfig`, field for field as
//! kfp-kubernetes 2.17.3 writes them, deprecated twins included.

use crate::dsl::Argument;
use crate::dsl::kubernetes::{
    EmptyDir, ImagePullPolicy, KeyToEnv, KubernetesConfig, MountPath, NamedSource, NodeAffinity, NodeOperator,
    NodeRequirement, TaintEffect, Toleration, TolerationOperator,
};
use crate::ir::{self, TaskInputParameter, TaskInputParameterSpec};

/// A setting that cannot be written: the field it is in and why.
pub(super) type Problem = (String, String);

/// Lowers `config`; `resolve` turns a name channel into the task input kfp would write
/// (`componentInputParameter`, `taskOutputParameter`, `runtimeValue`), recording the
/// dependencies and group inputs that come with it.
pub(super) fn lower_kubernetes(
    config: &KubernetesConfig,
    mut resolve: impl FnMut(&Argument) -> Result<TaskInputParameterSpec, String>,
) -> (ir::KubernetesExecutorConfig, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut name = |argument: &Argument, field: String| {
        let resolved = match argument {
            Argument::Constant(serde_json::Value::String(name)) if name.trim().is_empty() => Err("the name is empty".into()),
            _ => resolve(argument),
        };
        resolved.map_err(|message| problems.push((field, message))).ok()
    };
    let mut out = ir::KubernetesExecutorConfig::default();

    for (i, mount) in config.pvc_mounts.iter().enumerate() {
        let Some(parameter) = name(&mount.pvc_name, format!("kubernetes.pvc_mount[{i}].pvc_name")) else { continue };
        // The deprecated `pvc_reference` oneof mirrors the parameter, as kfp-kubernetes fills it.
        let mut lowered = ir::PvcMount {
            mount_path: mount.mount_path.clone(),
            sub_path: mount.sub_path.clone(),
            ..Default::default()
        };
        match &parameter.source {
            TaskInputParameter::RuntimeValue(value) => lowered.constant = value.constant.as_str().map(str::to_owned),
            TaskInputParameter::ComponentInputParameter(input) => lowered.component_input_parameter = Some(input.clone()),
            TaskInputParameter::TaskOutputParameter(output) => lowered.task_output_parameter = Some(output.clone()),
            TaskInputParameter::TaskFinalStatus(_) => {}
        }
        lowered.pvc_name_parameter = Some(parameter);
        out.pvc_mount.push(lowered);
    }
    for (i, source) in config.secrets_as_env.iter().enumerate() {
        let Some(parameter) = name(&source.name, format!("kubernetes.secret_as_env[{i}].secret_name")) else { continue };
        out.secret_as_env.push(ir::SecretAsEnv {
            key_to_env: source.usage.0.iter().map(|(k, e)| ir::SecretKeyToEnv { env_var: e.clone(), secret_key: k.clone() }).collect(),
            optional: Some(source.optional),
            secret_name: constant_name(source),
            secret_name_parameter: Some(parameter),
        });
    }
    for (i, source) in config.secrets_as_volume.iter().enumerate() {
        let Some(parameter) = name(&source.name, format!("kubernetes.secret_as_volume[{i}].secret_name")) else { continue };
        out.secret_as_volume.push(ir::SecretAsVolume {
            mount_path: source.usage.0.clone(),
            optional: Some(source.optional),
            secret_name: constant_name(source),
            secret_name_parameter: Some(parameter),
        });
    }
    for (i, source) in config.config_maps_as_env.iter().enumerate() {
        let field = format!("kubernetes.config_map_as_env[{i}].config_map_name");
        let Some(parameter) = name(&source.name, field) else { continue };
        let KeyToEnv(pairs) = &source.usage;
        out.config_map_as_env.push(ir::ConfigMapAsEnv {
            config_map_name: constant_name(source),
            config_map_name_parameter: Some(parameter),
            key_to_env: pairs.iter().map(|(k, e)| ir::ConfigMapKeyToEnv { config_map_key: k.clone(), env_var: e.clone() }).collect(),
            optional: Some(source.optional),
        });
    }
    for (i, source) in config.config_maps_as_volume.iter().enumerate() {
        let field = format!("kubernetes.config_map_as_volume[{i}].config_map_name");
        let Some(parameter) = name(&source.name, field) else { continue };
        let MountPath(mount_path) = &source.usage;
        out.config_map_as_volume.push(ir::ConfigMapAsVolume {
            config_map_name: constant_name(source),
            config_map_name_parameter: Some(parameter),
            mount_path: mount_path.clone(),
            optional: Some(source.optional),
        });
    }
    for (i, secret) in config.image_pull_secrets.iter().enumerate() {
        let Some(parameter) = name(secret, format!("kubernetes.image_pull_secret[{i}]")) else { continue };
        out.image_pull_secret.push(ir::ImagePullSecret { secret_name: constant(secret), secret_name_parameter: Some(parameter) });
    }
    if !config.node_selector.is_empty() {
        out.node_selector = Some(ir::NodeSelector { labels: config.node_selector.clone(), node_selector_json: None });
    }
    if !config.pod_labels.is_empty() || !config.pod_annotations.is_empty() {
        out.pod_metadata =
            Some(ir::PodMetadata { annotations: config.pod_annotations.clone(), labels: config.pod_labels.clone() });
    }
    out.tolerations = config.tolerations.iter().map(toleration).collect();
    for (i, term) in config.node_affinity.iter().enumerate() {
        match node_affinity(term) {
            Ok(term) => out.node_affinity.push(term),
            Err(message) => problems.push((format!("kubernetes.node_affinity[{i}]"), message)),
        }
    }
    for (i, mount) in config.empty_dir_mounts.iter().enumerate() {
        match empty_dir(mount) {
            Ok(mount) => out.empty_dir_mounts.push(mount),
            Err(message) => problems.push((format!("kubernetes.empty_dir_mounts[{i}]"), message)),
        }
    }
    out.enabled_shared_memory = config
        .shared_memory
        .as_ref()
        .map(|shm| ir::EnabledSharedMemory { size: shm.size.clone(), volume_name: shm.volume_name.clone() });
    out.field_path_as_env = config
        .field_paths_as_env
        .iter()
        .map(|(name, field_path)| ir::FieldPathAsEnv { field_path: field_path.clone(), name: name.clone() })
        .collect();
    out.image_pull_policy = config.image_pull_policy.map(|policy| {
        match policy {
            ImagePullPolicy::Always => "Always",
            ImagePullPolicy::Never => "Never",
            ImagePullPolicy::IfNotPresent => "IfNotPresent",
        }
        .to_owned()
    });
    // proto3 leaves a zero out: `set_timeout(0)` removes the deadline.
    match config.timeout_seconds.map(i64::try_from) {
        Some(Ok(0)) | None => {}
        Some(Ok(seconds)) => out.active_deadline_seconds = Some(seconds),
        Some(Err(_)) => problems.push(("kubernetes.timeout".into(), "the timeout does not fit in an int64".into())),
    }
    for (i, path) in mount_paths(config).into_iter().enumerate() {
        if !path.starts_with('/') {
            problems.push((format!("kubernetes.mount_path[{i}]"), format!("{path:?} is not an absolute path")));
        }
    }
    (out, problems)
}

/// Every mount path, for one check that they are absolute (Kubernetes rejects others).
fn mount_paths(config: &KubernetesConfig) -> Vec<&str> {
    let pvc = config.pvc_mounts.iter().map(|m| m.mount_path.as_str());
    let secrets = config.secrets_as_volume.iter().map(|s| s.usage.0.as_str());
    let maps = config.config_maps_as_volume.iter().map(|s| s.usage.0.as_str());
    let empty = config.empty_dir_mounts.iter().map(|m| m.mount_path.as_str());
    pvc.chain(secrets).chain(maps).chain(empty).collect()
}

/// The deprecated `secretName`/`configMapName`: kfp-kubernetes fills it for constants only.
fn constant_name<T>(source: &NamedSource<T>) -> Option<String> {
    constant(&source.name)
}

fn constant(argument: &Argument) -> Option<String> {
    match argument {
        Argument::Constant(serde_json::Value::String(name)) => Some(name.clone()),
        _ => None,
    }
}

fn toleration(t: &Toleration) -> ir::Toleration {
    ir::Toleration {
        effect: t
            .effect
            .map(|e| match e {
                TaintEffect::NoSchedule => "NoSchedule",
                TaintEffect::PreferNoSchedule => "PreferNoSchedule",
                TaintEffect::NoExecute => "NoExecute",
            })
            .unwrap_or_default()
            .to_owned(),
        key: t.key.clone().unwrap_or_default(),
        operator: t
            .operator
            .map(|o| match o {
                TolerationOperator::Equal => "Equal",
                TolerationOperator::Exists => "Exists",
            })
            .unwrap_or_default()
            .to_owned(),
        toleration_json: None,
        toleration_seconds: t.toleration_seconds,
        value: t.value.clone().unwrap_or_default(),
    }
}

fn node_affinity(term: &NodeAffinity) -> Result<ir::NodeAffinityTerm, String> {
    if let Some(weight) = term.weight.filter(|w| !(1..=100).contains(w)) {
        return Err(format!("weight must be between 1 and 100, got {weight}"));
    }
    let requirements = |list: &[NodeRequirement]| -> Result<Vec<ir::SelectorRequirement>, String> {
        list.iter()
            .map(|r| {
                if r.key.is_empty() {
                    return Err("a node requirement has an empty key".to_owned());
                }
                Ok(ir::SelectorRequirement { key: r.key.clone(), operator: node_operator(r.operator).into(), values: r.values.clone() })
            })
            .collect()
    };
    Ok(ir::NodeAffinityTerm {
        match_expressions: requirements(&term.match_expressions)?,
        match_fields: requirements(&term.match_fields)?,
        node_affinity_json: None,
        weight: term.weight,
    })
}

fn node_operator(operator: NodeOperator) -> &'static str {
    match operator {
        NodeOperator::In => "In",
        NodeOperator::NotIn => "NotIn",
        NodeOperator::Exists => "Exists",
        NodeOperator::DoesNotExist => "DoesNotExist",
        NodeOperator::Gt => "Gt",
        NodeOperator::Lt => "Lt",
    }
}

fn empty_dir(mount: &EmptyDir) -> Result<ir::EmptyDirMount, String> {
    if mount.volume_name.is_empty() {
        return Err("the emptyDir volume has no name".into());
    }
    if let Some(medium) = mount.medium.as_deref().filter(|m| !matches!(*m, "" | "Memory" | "HugePages")) {
        return Err(format!("medium {medium:?} is not one of \"Memory\", \"HugePages\""));
    }
    Ok(ir::EmptyDirMount {
        medium: mount.medium.clone(),
        mount_path: mount.mount_path.clone(),
        size_limit: mount.size_limit.clone(),
        volume_name: mount.volume_name.clone(),
    })
}

/// The platform document, when any executor has Kubernetes settings.
pub(super) fn platform_spec(executors: std::collections::BTreeMap<String, ir::KubernetesExecutorConfig>) -> Option<ir::PlatformSpec> {
    (!executors.is_empty()).then(|| ir::PlatformSpec {
        platforms: ir::Platforms {
            kubernetes: Some(ir::KubernetesPlatform {
                deployment_spec: Some(ir::KubernetesDeploymentSpec { executors }),
                pipeline_config: None,
            }),
        },
    })
}
