//! Kubernetes pod settings of a task: what Python kfp needs the separate kfp-kubernetes package
//! for (`kubernetes.mount_pvc(task, ...)`), here as setters on the task handle.
//!
//! The settings are recorded per task and become the second YAML document,
//! `platforms.kubernetes.deploymentSpec.executors.<exec-X>`, when the pipeline is compiled.
//! Names of PVCs, secrets and config maps take a constant or a `Param<String>` (a pipeline
//! input or a task output), like kfp-kubernetes.

use super::channel::{Argument, IntoParam, Param};
use super::component::{ComponentDef, Implementation, InputDef, InputKind, OutputDef, OutputKind};
use super::graph::add_task;
use super::task::Task;
use crate::ir::ParameterType;
use std::collections::BTreeMap;

/// Every Kubernetes setting made on one task, in call order where order shows in the IR.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubernetesConfig {
    pub pvc_mounts: Vec<PvcMountDef>,
    pub secrets_as_env: Vec<NamedSource<KeyToEnv>>,
    pub secrets_as_volume: Vec<NamedSource<MountPath>>,
    pub config_maps_as_env: Vec<NamedSource<KeyToEnv>>,
    pub config_maps_as_volume: Vec<NamedSource<MountPath>>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub node_affinity: Vec<NodeAffinity>,
    pub image_pull_secrets: Vec<Argument>,
    pub image_pull_policy: Option<ImagePullPolicy>,
    pub pod_labels: BTreeMap<String, String>,
    pub pod_annotations: BTreeMap<String, String>,
    pub empty_dir_mounts: Vec<EmptyDir>,
    pub shared_memory: Option<SharedMemory>,
    pub field_paths_as_env: Vec<(String, String)>,
    /// The pod's `activeDeadlineSeconds`; 0 removes an earlier timeout, as in kfp.
    pub timeout_seconds: Option<u64>,
}

impl KubernetesConfig {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A PVC mounted into the task's container.
#[derive(Debug, Clone, PartialEq)]
pub struct PvcMountDef {
    /// The claim's name: a constant or a string channel.
    pub pvc_name: Argument,
    pub mount_path: String,
    /// The folder of the volume to mount; empty for its root.
    pub sub_path: String,
}

/// A secret or config map, by name, used in the way `T` says.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSource<T> {
    pub name: Argument,
    pub usage: T,
    /// Whether the pod may start when the secret or config map does not exist.
    pub optional: bool,
}

/// Data key -> environment variable, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyToEnv(pub Vec<(String, String)>);

#[derive(Debug, Clone, PartialEq)]
pub struct MountPath(pub String);

/// A Kubernetes toleration. Build one with [`Toleration::equal`] or [`Toleration::exists`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Toleration {
    pub key: Option<String>,
    pub operator: Option<TolerationOperator>,
    pub value: Option<String>,
    pub effect: Option<TaintEffect>,
    /// How long a `NoExecute` taint is tolerated; `None` is forever.
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl Toleration {
    /// Tolerates taints with `key` set to `value`.
    pub fn equal(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: Some(key.into()),
            operator: Some(TolerationOperator::Equal),
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// Tolerates taints with `key`, whatever their value.
    pub fn exists(key: impl Into<String>) -> Self {
        Self { key: Some(key.into()), operator: Some(TolerationOperator::Exists), ..Self::default() }
    }

    /// Only taints with this effect.
    pub fn effect(mut self, effect: TaintEffect) -> Self {
        self.effect = Some(effect);
        self
    }

    /// For a `NoExecute` taint: evict after this many seconds instead of never.
    pub fn for_seconds(mut self, seconds: i64) -> Self {
        self.toleration_seconds = Some(seconds);
        self
    }
}

/// One node affinity term: required, or preferred with a weight from 1 to 100.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeAffinity {
    pub match_expressions: Vec<NodeRequirement>,
    pub match_fields: Vec<NodeRequirement>,
    pub weight: Option<i32>,
}

/// `key operator values`, such as `zone In [a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRequirement {
    pub key: String,
    pub operator: NodeOperator,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

impl NodeAffinity {
    /// A term the node must satisfy.
    pub fn required() -> Self {
        Self::default()
    }

    /// A term the scheduler prefers, with `weight` from 1 to 100.
    pub fn preferred(weight: i32) -> Self {
        Self { weight: Some(weight), ..Self::default() }
    }

    /// A condition on a node label.
    pub fn match_expression<S: Into<String>>(
        mut self,
        key: impl Into<String>,
        operator: NodeOperator,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.match_expressions.push(NodeRequirement::new(key, operator, values));
        self
    }

    /// A condition on a node field, such as `metadata.name`.
    pub fn match_field<S: Into<String>>(
        mut self,
        key: impl Into<String>,
        operator: NodeOperator,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.match_fields.push(NodeRequirement::new(key, operator, values));
        self
    }
}

impl NodeRequirement {
    fn new<S: Into<String>>(key: impl Into<String>, operator: NodeOperator, values: impl IntoIterator<Item = S>) -> Self {
        Self { key: key.into(), operator, values: values.into_iter().map(Into::into).collect() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePullPolicy {
    Always,
    Never,
    IfNotPresent,
}

/// An `emptyDir` volume mounted into the container.
#[derive(Debug, Clone, PartialEq)]
pub struct EmptyDir {
    pub volume_name: String,
    pub mount_path: String,
    /// `Memory` or `HugePages`; `None` for node disk.
    pub medium: Option<String>,
    /// A quantity such as `5Gi`.
    pub size_limit: Option<String>,
}

impl EmptyDir {
    /// A node-disk `emptyDir` named `volume_name`, mounted at `mount_path`, with no size limit.
    pub fn new(volume_name: impl Into<String>, mount_path: impl Into<String>) -> Self {
        Self { volume_name: volume_name.into(), mount_path: mount_path.into(), medium: None, size_limit: None }
    }

    /// `Memory` (tmpfs) or `HugePages`.
    pub fn medium(mut self, medium: impl Into<String>) -> Self {
        self.medium = Some(medium.into());
        self
    }

    /// The most the volume may hold, as a quantity (`5Gi`).
    pub fn size_limit(mut self, size: impl Into<String>) -> Self {
        self.size_limit = Some(size.into());
        self
    }
}

/// A memory-backed `/dev/shm` of `size` (`enabledSharedMemory`).
#[derive(Debug, Clone, PartialEq)]
pub struct SharedMemory {
    pub size: String,
    /// The volume's name; the KFP backend uses `dshm` when empty.
    pub volume_name: String,
}

impl<O> Task<O> {
    /// Mounts a PersistentVolumeClaim at `mount_path` (kfp-kubernetes `mount_pvc`).
    pub fn mount_pvc(self, pvc_name: impl IntoParam<String>, mount_path: impl Into<String>) -> Self {
        self.mount_pvc_sub_path(pvc_name, mount_path, "")
    }

    /// Mounts the folder `sub_path` of a PersistentVolumeClaim at `mount_path`.
    pub fn mount_pvc_sub_path(
        self,
        pvc_name: impl IntoParam<String>,
        mount_path: impl Into<String>,
        sub_path: impl Into<String>,
    ) -> Self {
        let mount = PvcMountDef { pvc_name: pvc_name.into_argument(), mount_path: mount_path.into(), sub_path: sub_path.into() };
        self.kubernetes(|k| k.pvc_mounts.push(mount))
    }

    /// Sets environment variables from a Secret: `[("password", "PASSWORD")]` puts the
    /// secret's `password` key into `$PASSWORD`. The pod fails to start without the secret.
    pub fn use_secret_as_env<K: Into<String>, E: Into<String>>(
        self,
        secret_name: impl IntoParam<String>,
        key_to_env: impl IntoIterator<Item = (K, E)>,
    ) -> Self {
        let source = named(secret_name, KeyToEnv(pairs(key_to_env)), false);
        self.kubernetes(|k| k.secrets_as_env.push(source))
    }

    /// Like [`Task::use_secret_as_env`], but the pod starts even when the secret is missing.
    pub fn use_optional_secret_as_env<K: Into<String>, E: Into<String>>(
        self,
        secret_name: impl IntoParam<String>,
        key_to_env: impl IntoIterator<Item = (K, E)>,
    ) -> Self {
        let source = named(secret_name, KeyToEnv(pairs(key_to_env)), true);
        self.kubernetes(|k| k.secrets_as_env.push(source))
    }

    /// Mounts a Secret's keys as files under `mount_path`.
    pub fn use_secret_as_volume(self, secret_name: impl IntoParam<String>, mount_path: impl Into<String>) -> Self {
        let source = named(secret_name, MountPath(mount_path.into()), false);
        self.kubernetes(|k| k.secrets_as_volume.push(source))
    }

    /// Like [`Task::use_secret_as_volume`], but the pod starts even when the secret is missing.
    pub fn use_optional_secret_as_volume(self, secret_name: impl IntoParam<String>, mount_path: impl Into<String>) -> Self {
        let source = named(secret_name, MountPath(mount_path.into()), true);
        self.kubernetes(|k| k.secrets_as_volume.push(source))
    }

    /// Sets environment variables from a ConfigMap's keys.
    pub fn use_config_map_as_env<K: Into<String>, E: Into<String>>(
        self,
        config_map_name: impl IntoParam<String>,
        key_to_env: impl IntoIterator<Item = (K, E)>,
    ) -> Self {
        let source = named(config_map_name, KeyToEnv(pairs(key_to_env)), false);
        self.kubernetes(|k| k.config_maps_as_env.push(source))
    }

    /// Like [`Task::use_config_map_as_env`], but the pod starts even when the map is missing.
    pub fn use_optional_config_map_as_env<K: Into<String>, E: Into<String>>(
        self,
        config_map_name: impl IntoParam<String>,
        key_to_env: impl IntoIterator<Item = (K, E)>,
    ) -> Self {
        let source = named(config_map_name, KeyToEnv(pairs(key_to_env)), true);
        self.kubernetes(|k| k.config_maps_as_env.push(source))
    }

    /// Mounts a ConfigMap's keys as files under `mount_path`.
    pub fn use_config_map_as_volume(self, config_map_name: impl IntoParam<String>, mount_path: impl Into<String>) -> Self {
        let source = named(config_map_name, MountPath(mount_path.into()), false);
        self.kubernetes(|k| k.config_maps_as_volume.push(source))
    }

    /// Like [`Task::use_config_map_as_volume`], but the pod starts even when the map is missing.
    pub fn use_optional_config_map_as_volume(
        self,
        config_map_name: impl IntoParam<String>,
        mount_path: impl Into<String>,
    ) -> Self {
        let source = named(config_map_name, MountPath(mount_path.into()), true);
        self.kubernetes(|k| k.config_maps_as_volume.push(source))
    }

    /// Runs the pod only on nodes labelled `label = value`; a second call with the same
    /// label replaces the value.
    pub fn add_node_selector(self, label: impl Into<String>, value: impl Into<String>) -> Self {
        let (label, value) = (label.into(), value.into());
        self.kubernetes(|k| {
            k.node_selector.insert(label, value);
        })
    }

    /// Lets the pod run on nodes with a matching taint.
    pub fn add_toleration(self, toleration: Toleration) -> Self {
        self.kubernetes(|k| k.tolerations.push(toleration))
    }

    /// Adds a node affinity term.
    pub fn add_node_affinity(self, affinity: NodeAffinity) -> Self {
        self.kubernetes(|k| k.node_affinity.push(affinity))
    }

    /// Secrets to pull the image with; adds to earlier calls.
    pub fn set_image_pull_secrets<S: IntoParam<String>>(self, secret_names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<Argument> = secret_names.into_iter().map(IntoParam::into_argument).collect();
        self.kubernetes(|k| k.image_pull_secrets.extend(names))
    }

    /// When the node pulls the image.
    pub fn set_image_pull_policy(self, policy: ImagePullPolicy) -> Self {
        self.kubernetes(|k| k.image_pull_policy = Some(policy))
    }

    /// A label on the task's pod.
    pub fn add_pod_label(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.kubernetes(|k| {
            k.pod_labels.insert(key, value);
        })
    }

    /// An annotation on the task's pod.
    pub fn add_pod_annotation(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.kubernetes(|k| {
            k.pod_annotations.insert(key, value);
        })
    }

    /// Mounts an `emptyDir` volume (kfp-kubernetes `empty_dir_mount`).
    pub fn empty_dir_mount(self, mount: EmptyDir) -> Self {
        self.kubernetes(|k| k.empty_dir_mounts.push(mount))
    }

    /// Gives the container a memory-backed `/dev/shm` of `size` (a quantity such as `2Gi`),
    /// which PyTorch data loaders need beyond Docker's 64 MB default.
    pub fn set_shared_memory(self, size: impl Into<String>) -> Self {
        let shared = SharedMemory { size: size.into(), volume_name: String::new() };
        self.kubernetes(|k| k.shared_memory = Some(shared))
    }

    /// Sets an environment variable from a pod field, such as `metadata.name`.
    pub fn use_field_path_as_env(self, env_var: impl Into<String>, field_path: impl Into<String>) -> Self {
        let entry = (env_var.into(), field_path.into());
        self.kubernetes(|k| k.field_paths_as_env.push(entry))
    }

    /// Stops the pod after `seconds` (`activeDeadlineSeconds`); 0 removes the limit.
    pub fn set_timeout(self, seconds: u64) -> Self {
        self.kubernetes(|k| k.timeout_seconds = Some(seconds))
    }

    fn kubernetes(self, change: impl FnOnce(&mut KubernetesConfig)) -> Self {
        super::graph::with_task(self.id(), |t| change(&mut t.overrides.kubernetes));
        self
    }
}

fn named<T>(name: impl IntoParam<String>, usage: T, optional: bool) -> NamedSource<T> {
    NamedSource { name: name.into_argument(), usage, optional }
}

fn pairs<K: Into<String>, E: Into<String>>(pairs: impl IntoIterator<Item = (K, E)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, e)| (k.into(), e.into())).collect()
}

/// How a PVC made by [`create_pvc`] is named.
#[derive(Debug, Clone, PartialEq)]
pub enum PvcName {
    /// Exactly this name.
    Fixed(String),
    /// `<workflow name>-<suffix>`, unique per run.
    Suffix(String),
}

/// kfp-kubernetes `CreatePVC`: a PersistentVolumeClaim the KFP backend creates at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePvc {
    pub name: PvcName,
    /// `ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany` or `ReadWriteOncePod`.
    pub access_modes: Vec<String>,
    /// Storage requested, as a quantity (`5Gi`).
    pub size: String,
    /// `None`: the cluster's default class.
    pub storage_class_name: Option<String>,
    /// A pre-existing PersistentVolume to bind.
    pub volume_name: Option<String>,
    pub annotations: Option<BTreeMap<String, String>>,
    /// `{apiGroup, kind, name}` of a VolumeSnapshot or PVC to fill it from.
    pub data_source: Option<BTreeMap<String, String>>,
}

impl CreatePvc {
    /// A claim of `size` with one access mode, in the default storage class.
    pub fn new(name: PvcName, access_mode: impl Into<String>, size: impl Into<String>) -> Self {
        Self {
            name,
            access_modes: vec![access_mode.into()],
            size: size.into(),
            storage_class_name: None,
            volume_name: None,
            annotations: None,
            data_source: None,
        }
    }

    pub fn storage_class(mut self, name: impl Into<String>) -> Self {
        self.storage_class_name = Some(name.into());
        self
    }
}

/// The outputs of a [`create_pvc`] task.
#[derive(Clone, Copy)]
pub struct CreatedPvc {
    /// The claim's name, to pass to `.mount_pvc` and [`delete_pvc`].
    pub name: Param<String>,
}

/// Adds a task that creates a PVC (kfp-kubernetes `CreatePVC`; tasks `createpvc`, `createpvc-2`).
/// The backend runs it; the local runner cannot.
pub fn create_pvc(settings: CreatePvc) -> Task<CreatedPvc> {
    use serde_json::{Value, json};
    let string = |s: &str| Value::String(s.to_owned());
    let mut arguments = vec![("access_modes", Argument::Constant(json!(settings.access_modes)))];
    arguments.push(("size", Argument::Constant(string(&settings.size))));
    match &settings.name {
        PvcName::Fixed(name) => arguments.push(("pvc_name", Argument::Constant(string(name)))),
        PvcName::Suffix(suffix) => arguments.push(("pvc_name_suffix", Argument::Constant(string(suffix)))),
    }
    let optional = [
        ("storage_class_name", settings.storage_class_name.as_deref().map(string)),
        ("volume_name", settings.volume_name.as_deref().map(string)),
        ("annotations", settings.annotations.as_ref().map(|m| json!(m))),
        ("data_source", settings.data_source.as_ref().map(|m| json!(m))),
    ];
    arguments.extend(optional.into_iter().filter_map(|(name, value)| Some((name, Argument::Constant(value?)))));
    // A task's arguments are kept in the component's declaration order.
    let order = |name: &str| CREATE_PVC_INPUTS.iter().position(|(n, ..)| *n == name);
    arguments.sort_by_key(|(name, _)| order(name));
    let id = add_task(create_pvc_component(), arguments);
    Task::new(id, CreatedPvc { name: Param::task_output(id, "name") })
}

/// Adds a task that deletes a PVC (kfp-kubernetes `DeletePVC`), such as one made by [`create_pvc`].
pub fn delete_pvc(pvc_name: impl IntoParam<String>) -> Task<()> {
    let component = ComponentDef {
        name: "DeletePVC",
        description: None,
        inputs: vec![parameter("pvc_name", ParameterType::String, false, None)],
        outputs: Vec::new(),
        implementation: Implementation::BackendOp("argostub/deletepvc"),
    };
    Task::new(add_task(component, vec![("pvc_name", pvc_name.into_argument())]), ())
}

/// `CreatePVC`'s inputs as kfp-kubernetes declares them: name, type, optional.
const CREATE_PVC_INPUTS: [(&str, ParameterType, bool); 8] = [
    ("access_modes", ParameterType::List, false),
    ("size", ParameterType::String, false),
    ("pvc_name", ParameterType::String, true),
    ("pvc_name_suffix", ParameterType::String, true),
    ("storage_class_name", ParameterType::String, true),
    ("volume_name", ParameterType::String, true),
    ("annotations", ParameterType::Struct, true),
    ("data_source", ParameterType::Struct, true),
];

fn create_pvc_component() -> ComponentDef {
    let inputs = CREATE_PVC_INPUTS
        .iter()
        .map(|&(name, ty, optional)| {
            // kfp-kubernetes defaults the storage class to '' (a statically provisioned claim).
            let default = (name == "storage_class_name").then(|| serde_json::Value::String(String::new()));
            parameter(name, ty, optional, default)
        })
        .collect();
    ComponentDef {
        name: "CreatePVC",
        description: None,
        inputs,
        outputs: vec![OutputDef { name: "name", kind: OutputKind::Parameter(ParameterType::String) }],
        implementation: Implementation::BackendOp("argostub/createpvc"),
    }
}

fn parameter(name: &'static str, ty: ParameterType, optional: bool, default: Option<serde_json::Value>) -> InputDef {
    InputDef { name, kind: InputKind::Parameter { ty, optional, default } }
}
