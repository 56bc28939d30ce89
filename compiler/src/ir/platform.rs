//! The second YAML document of an IR file: `PlatformSpec` from `pipeline_spec.proto` with the
//! Kubernetes settings of `kubernetes_platform/proto/kubernetes_executor_config.proto`
//! (kfp-kubernetes 2.17.3).
//!
//! Fields follow proto3 JSON as kfp writes it: camelCase, alphabetical, defaults left out,
//! `optional` booleans always written once set, int64 as strings and int32 weights as floats
//! (kfp routes the message through a `google.protobuf.Struct`). Deprecated fields that
//! kfp-kubernetes still fills (`secretName`, `pvcMount.constant`, ...) are kept, because the
//! KFP backend falls back to them.

use super::{TaskInputParameterSpec, TaskOutputParameterSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// `PlatformSpec`: platform name (`kubernetes`) -> its settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    pub platforms: Platforms,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Platforms {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesPlatform>,
}

/// `SinglePlatformSpec` for Kubernetes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesPlatform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_spec: Option<KubernetesDeploymentSpec>,
    /// Pipeline-wide settings (the workspace PVC); read, not written by kfp-rs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_config: Option<serde_json::Value>,
}

/// Executor label (`exec-train`) -> its Kubernetes settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesDeploymentSpec {
    pub executors: BTreeMap<String, KubernetesExecutorConfig>,
}

impl PlatformSpec {
    /// The Kubernetes settings of an executor, if any.
    pub fn kubernetes_executor(&self, executor_label: &str) -> Option<&KubernetesExecutorConfig> {
        self.platforms.kubernetes.as_ref()?.deployment_spec.as_ref()?.executors.get(executor_label)
    }
}

/// `kfp_kubernetes.KubernetesExecutorConfig`: the pod settings of one executor.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesExecutorConfig {
    /// The pod's `activeDeadlineSeconds` (kfp's `set_timeout`); int64, so a string in JSON.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "int64_string")]
    #[schemars(with = "Option<String>")]
    pub active_deadline_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_map_as_env: Vec<ConfigMapAsEnv>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_map_as_volume: Vec<ConfigMapAsVolume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_dir_mounts: Vec<EmptyDirMount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_shared_memory: Option<EnabledSharedMemory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_path_as_env: Vec<FieldPathAsEnv>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generic_ephemeral_volume: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secret: Vec<ImagePullSecret>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<NodeAffinityTerm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<NodeSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_affinity: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_metadata: Option<PodMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pvc_mount: Vec<PvcMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_as_env: Vec<SecretAsEnv>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_as_volume: Vec<SecretAsVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// `PvcMount`: `pvcNameParameter` plus the deprecated `pvc_reference` oneof twin
/// (`constant` / `componentInputParameter` / `taskOutputParameter`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PvcMount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_input_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_name_parameter: Option<TaskInputParameterSpec>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_output_parameter: Option<TaskOutputParameterSpec>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretAsEnv {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_to_env: Vec<SecretKeyToEnv>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// Deprecated twin of `secretNameParameter`, written for constant names only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name_parameter: Option<TaskInputParameterSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyToEnv {
    pub env_var: String,
    pub secret_key: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretAsVolume {
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name_parameter: Option<TaskInputParameterSpec>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapAsEnv {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name_parameter: Option<TaskInputParameterSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_to_env: Vec<ConfigMapKeyToEnv>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapKeyToEnv {
    pub config_map_key: String,
    pub env_var: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapAsVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name_parameter: Option<TaskInputParameterSpec>,
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePullSecret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name_parameter: Option<TaskInputParameterSpec>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector_json: Option<TaskInputParameterSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodMetadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_json: Option<TaskInputParameterSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "int64_string")]
    #[schemars(with = "Option<String>")]
    pub toleration_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAffinityTerm {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorRequirement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_fields: Vec<SelectorRequirement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity_json: Option<TaskInputParameterSpec>,
    /// Set for a preferred term (1-100); a required term has none. kfp writes it as a float.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "int32_float")]
    #[schemars(with = "Option<f64>")]
    pub weight: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmptyDirMount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<String>,
    pub volume_name: String,
}

/// A memory-backed `/dev/shm`; the backend names the volume `dshm` when no name is given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnabledSharedMemory {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub size: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldPathAsEnv {
    pub field_path: String,
    pub name: String,
}

/// proto3 JSON writes int64 as a string and reads either form.
mod int64_string {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_str(&v.to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        match Option::<serde_json::Value>::deserialize(deserializer)? {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
            Some(serde_json::Value::Number(n)) => {
                n.as_i64().map(Some).ok_or_else(|| serde::de::Error::custom(format!("{n} is not an int64")))
            }
            Some(other) => Err(serde::de::Error::custom(format!("expected an int64, found {other}"))),
        }
    }
}

/// kfp writes int32 fields of the platform document as floats (`weight: 10.0`).
mod int32_float {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<i32>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.serialize_f64(f64::from(*v)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
        let Some(value) = Option::<f64>::deserialize(deserializer)? else { return Ok(None) };
        let whole = value.fract() == 0.0 && value >= f64::from(i32::MIN) && value <= f64::from(i32::MAX);
        if whole { Ok(Some(value as i32)) } else { Err(serde::de::Error::custom(format!("{value} is not an int32"))) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int64_fields_read_strings_and_numbers_and_write_strings() {
        let config: KubernetesExecutorConfig =
            serde_json::from_value(serde_json::json!({"activeDeadlineSeconds": "3600"})).unwrap();
        assert_eq!(config.active_deadline_seconds, Some(3600));
        let config: KubernetesExecutorConfig = serde_json::from_value(serde_json::json!({"activeDeadlineSeconds": 60})).unwrap();
        assert_eq!(serde_json::to_value(&config).unwrap(), serde_json::json!({"activeDeadlineSeconds": "60"}));
        let bad = serde_json::from_value::<KubernetesExecutorConfig>(serde_json::json!({"activeDeadlineSeconds": "soon"}));
        assert!(bad.unwrap_err().to_string().contains("invalid digit"));
    }

    #[test]
    fn affinity_weights_are_whole_int32s_written_as_floats() {
        let term: NodeAffinityTerm = serde_json::from_value(serde_json::json!({"weight": 10.0})).unwrap();
        assert_eq!(term.weight, Some(10));
        assert_eq!(serde_json::to_value(&term).unwrap(), serde_json::json!({"weight": 10.0}));
        let fractional = serde_json::from_value::<NodeAffinityTerm>(serde_json::json!({"weight": 10.5}));
        assert!(fractional.unwrap_err().to_string().contains("10.5 is not an int32"));
    }

    #[test]
    fn unknown_kubernetes_fields_are_rejected() {
        let error = serde_json::from_value::<KubernetesExecutorConfig>(serde_json::json!({"podLabels": {}})).unwrap_err();
        assert!(error.to_string().contains("podLabels"), "{error}");
    }
}
