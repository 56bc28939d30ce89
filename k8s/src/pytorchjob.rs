//! The `kubeflow.org/v1` PyTorchJob a distributed component runs as: typed structs for the
//! subset kfp-rs emits, and the builder from a [`LaunchSpec`].
//!
//! One Master and `nodes - 1` Workers, each a pod with container `pytorch` running the
//! component's binary as a plain executor. The Training Operator injects `MASTER_ADDR`,
//! `MASTER_PORT`, `WORLD_SIZE` (= nodes * nprocPerNode), `RANK` and `PET_NODE_RANK` (the pod's
//! node rank), `PET_NNODES` and `PET_NPROC_PER_NODE`; the runtime's launcher starts one process
//! per local rank from those (no torchrun in the image).

use kfp_compiler::compile::LaunchSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "kubeflow.org/v1";
pub const KIND: &str = "PyTorchJob";
/// The container name the Training Operator looks for.
pub const CONTAINER_NAME: &str = "pytorch";
/// Label on the job and its pods naming the component.
pub const COMPONENT_LABEL: &str = "kfp-rs/component";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PyTorchJob {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: PyTorchJobSpec,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
}

/// The pipeline step's pod owns its job: deleting the pod (with its run) deletes the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PyTorchJobSpec {
    /// A string in the CRD (`auto`, `cpu`, `gpu` or a number); always a number here.
    pub nproc_per_node: String,
    pub pytorch_replica_specs: ReplicaSpecs,
    pub run_policy: RunPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSpecs {
    #[serde(rename = "Master")]
    pub master: ReplicaSpec,
    #[serde(rename = "Worker", default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<ReplicaSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSpec {
    pub replicas: u32,
    pub restart_policy: String,
    pub template: PodTemplateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodTemplateSpec {
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodSpec {
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    pub resources: ResourceRequirements,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// Quantities as the user wrote them (`"8"`, `"500m"`, `"32Gi"`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResourceRequirements {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub empty_dir: EmptyDirVolumeSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmptyDirVolumeSource {
    pub medium: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPolicy {
    /// `Running`: pods still running when the job ends are deleted, finished ones kept for logs.
    pub clean_pod_policy: String,
    pub backoff_limit: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<u64>,
}

/// Where and as what one job runs; the [`LaunchSpec`] says what it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTarget {
    pub name: String,
    pub namespace: Option<String>,
    /// The component (its Rust function name), for `--function-to-execute`.
    pub component: String,
    /// The binary's path in the image.
    pub binary: String,
    /// The executor input JSON the pods receive (`{{$}}` in a manifest written at compile time).
    pub executor_input: String,
    /// Container restarts the job tolerates before it fails. 0 by default: a DDP job restarts
    /// as a whole, through the pipeline task's retry policy.
    pub backoff_limit: u32,
    /// The operator stops the job after this long, even if its launcher is gone.
    pub active_deadline_seconds: Option<u64>,
    /// The step's pod (`KFP_POD_NAME`, `KFP_POD_UID`), which then owns the job.
    pub owner_pod: Option<(String, String)>,
}

/// The PyTorchJob for `spec` at `target`.
pub fn build(spec: &LaunchSpec, target: &JobTarget) -> PyTorchJob {
    let labels = BTreeMap::from([(COMPONENT_LABEL.to_owned(), label_value(&target.component))]);
    let container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: spec.image.clone(),
        command: vec![target.binary.clone()],
        args: vec![
            "--executor-input".into(),
            target.executor_input.clone(),
            "--function-to-execute".into(),
            target.component.clone(),
        ],
        env: spec.env.iter().map(|(name, value)| EnvVar { name: name.clone(), value: value.clone() }).collect(),
        resources: resources(spec),
        // NCCL and data loaders share memory through /dev/shm, which is 64 MiB in a plain pod.
        volume_mounts: vec![VolumeMount { name: "dshm".into(), mount_path: "/dev/shm".into() }],
    };
    let template = PodTemplateSpec {
        metadata: ObjectMeta {
            labels: labels.clone(),
            // Kubeflow profiles inject Istio sidecars, which keep a finished pod running and
            // intercept the c10d rendezvous traffic.
            annotations: BTreeMap::from([("sidecar.istio.io/inject".to_owned(), "false".to_owned())]),
            ..Default::default()
        },
        spec: PodSpec {
            containers: vec![container],
            volumes: vec![Volume { name: "dshm".into(), empty_dir: EmptyDirVolumeSource { medium: "Memory".into() } }],
        },
    };
    let replica =
        |replicas: u32| ReplicaSpec { replicas, restart_policy: "OnFailure".into(), template: template.clone() };
    PyTorchJob {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        metadata: ObjectMeta {
            name: Some(target.name.clone()),
            namespace: target.namespace.clone(),
            labels,
            annotations: BTreeMap::new(),
            owner_references: target
                .owner_pod
                .iter()
                .map(|(name, uid)| OwnerReference {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    name: name.clone(),
                    uid: uid.clone(),
                })
                .collect(),
        },
        spec: PyTorchJobSpec {
            nproc_per_node: spec.nproc_per_node.to_string(),
            pytorch_replica_specs: ReplicaSpecs {
                master: replica(1),
                worker: (spec.nodes > 1).then(|| replica(spec.nodes - 1)),
            },
            run_policy: RunPolicy {
                clean_pod_policy: "Running".into(),
                backoff_limit: target.backoff_limit,
                active_deadline_seconds: target.active_deadline_seconds,
            },
        },
    }
}

/// The job as a YAML document (`kubectl apply -f`).
pub fn to_yaml(job: &PyTorchJob) -> Result<String, serde_saphyr::ser_error::Error> {
    serde_saphyr::to_string(job)
}

fn resources(spec: &LaunchSpec) -> ResourceRequirements {
    let r = &spec.resources;
    let pairs = |entries: [(&str, &Option<String>); 2]| -> BTreeMap<String, String> {
        entries.into_iter().filter_map(|(key, value)| Some((key.to_owned(), value.clone()?))).collect()
    };
    let mut out = ResourceRequirements {
        limits: pairs([("cpu", &r.cpu_limit), ("memory", &r.memory_limit)]),
        requests: pairs([("cpu", &r.cpu_request), ("memory", &r.memory_request)]),
    };
    if let Some(accelerator) = &r.accelerator_type {
        // One device per process; Kubernetes sets the request of an extended resource to its limit.
        out.limits.insert(accelerator.clone(), spec.nproc_per_node.to_string());
    }
    out
}

/// A label value: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_value(text: &str) -> String {
    let cleaned: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    let cut: String = cleaned.chars().take(63).collect();
    cut.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

/// A job name that is a valid DNS-1035 label (the operator names services after it), derived
/// only from `component` and `key`: the same KFP pod (`KFP_POD_UID`) always names the same job,
/// so a restarted launcher finds its job again, and a retried task (a new pod) starts a new one.
pub fn job_name(component: &str, key: &str) -> String {
    let hash = format!("{:016x}", fnv1a(key.as_bytes()));
    let mut base: String =
        component.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    base = base.trim_matches('-').to_owned();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base.insert_str(0, "job-");
    }
    // Room for "-master-NN" style pod and service suffixes the operator appends.
    base.truncate(40);
    format!("{}-{}", base.trim_end_matches('-'), &hash[..12])
}

/// FNV-1a: a stable hash (unlike `DefaultHasher`, whose output may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels_and_stable() {
        let name = job_name("Train_Model_With_A_Really_Long_Name_That_Goes_On_And_On", "pod-uid-1");
        assert!(name.len() <= 63, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
        assert!(name.starts_with("train-model-with"), "{name}");
        assert_eq!(name, job_name("Train_Model_With_A_Really_Long_Name_That_Goes_On_And_On", "pod-uid-1"));
        assert_ne!(job_name("train", "pod-uid-1"), job_name("train", "pod-uid-2"));
        assert!(job_name("_9train", "k").starts_with("job-9train-"));
    }

    #[test]
    fn label_values_are_trimmed_to_alphanumeric_ends() {
        assert_eq!(label_value("_train_"), "train");
        assert_eq!(label_value(&"a".repeat(70)).len(), 63);
    }
}
