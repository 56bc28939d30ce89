//! The Kubernetes settings of the IR's second YAML document (kfp-kubernetes), mapped onto local
//! processes, or refused with a line naming the task and the setting.
//!
//! - **Volumes.** A PVC is the folder `RUN/pvc/<claim>` (`/<subPath>`), shared by the run's
//!   tasks; a secret or config map as a volume is `DIR/<name>` of `--secrets` /
//!   `--config-maps`; an empty dir is a fresh `TASK/empty-dirs/<volume>`. The task finds the
//!   folder in `KFP_LOCAL_MOUNT_<PATH>` (`/data/x` -> `KFP_LOCAL_MOUNT_DATA_X`), and the mount
//!   path itself becomes a symlink to it while the task runs, made only where nothing exists
//!   (existing paths are never replaced) and removed afterwards. Tasks that need one mount path
//!   for different folders take turns.
//! - **Secrets, config maps as env.** The variable gets the file `DIR/<name>/<key>`; a missing
//!   optional one is skipped, a missing required one fails the task.
//! - **Field paths.** `metadata.name` is the task name, `metadata.namespace` is `local`.
//! - **Deadline.** `activeDeadlineSeconds` kills the attempt's process group when it passes.
//! - **Ignored, with a notice.** Scheduling (node selector, affinity, tolerations), image pull
//!   settings, pod metadata, the security context; shared memory is the host's `/dev/shm`.

use super::error::LocalError;
use kfp_compiler::ir::{
    KubernetesExecutorConfig, PlatformSpec, PvcMount, TaskInputParameter, TaskInputParameterSpec,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Default secrets folder when `--secrets` is not given.
pub const SECRETS_ENV: &str = "KFP_LOCAL_SECRETS";
/// Default config maps folder when `--config-maps` is not given.
pub const CONFIG_MAPS_ENV: &str = "KFP_LOCAL_CONFIG_MAPS";
/// Prefix of the variables that name a mount's local folder.
const MOUNT_ENV_PREFIX: &str = "KFP_LOCAL_MOUNT_";

/// Resolves a `*Parameter` field (named by the setting it feeds) as a task input.
pub type ParameterResolver<'r> =
    dyn Fn(&str, &TaskInputParameterSpec) -> Result<Option<Value>, LocalError> + 'r;

/// A task's settings with every name resolved, ready to apply.
#[derive(Debug, Clone, Default)]
pub struct TaskPlatform {
    pub env: Vec<(String, String)>,
    volumes: Vec<Volume>,
    /// `activeDeadlineSeconds`, per attempt.
    pub deadline: Option<Duration>,
    /// One line per group of settings that do nothing locally.
    pub notices: Vec<String>,
}

#[derive(Debug, Clone)]
struct Volume {
    mount_path: PathBuf,
    source: VolumeSource,
    /// What is mounted, for messages: `PVC 'data'`, `secret 's1'`, `empty dir 'cache'`.
    label: String,
}

#[derive(Debug, Clone)]
enum VolumeSource {
    /// A run-wide folder (a PVC, created on first use) or a given one (a secret, a config map).
    Folder { path: PathBuf, create: bool },
    /// A fresh folder in the task's own folder.
    EmptyDir(String),
}

/// Where secrets and config maps come from.
#[derive(Debug, Clone, Copy)]
enum Store {
    Secret,
    ConfigMap,
}

impl Store {
    fn what(self) -> &'static str {
        match self {
            Store::Secret => "secret",
            Store::ConfigMap => "config map",
        }
    }

    fn how_to_give(self) -> String {
        match self {
            Store::Secret => format!("pass --secrets DIR or set {SECRETS_ENV}"),
            Store::ConfigMap => format!("pass --config-maps DIR or set {CONFIG_MAPS_ENV}"),
        }
    }
}

/// The run's view of the platform document.
pub struct LocalPlatform<'a> {
    spec: Option<&'a PlatformSpec>,
    secrets: Option<PathBuf>,
    config_maps: Option<PathBuf>,
    volumes_dir: PathBuf,
    links: MountTable,
}

impl<'a> LocalPlatform<'a> {
    pub fn new(
        spec: Option<&'a PlatformSpec>,
        secrets: Option<PathBuf>,
        config_maps: Option<PathBuf>,
        run_dir: &Path,
    ) -> Self {
        Self {
            spec,
            secrets,
            config_maps,
            volumes_dir: run_dir.join("pvc"),
            links: MountTable::default(),
        }
    }

    pub fn config(&self, executor_label: &str) -> Option<&'a KubernetesExecutorConfig> {
        self.spec?.kubernetes_executor(executor_label)
    }

    /// Resolves a task's settings; `parameter` resolves a `*Parameter` field as a task input.
    pub fn resolve(
        &self,
        task_path: &str,
        task_name: &str,
        config: &KubernetesExecutorConfig,
        parameter: &ParameterResolver<'_>,
    ) -> Result<TaskPlatform, LocalError> {
        let error = |cause: String| LocalError::task(task_path, cause);
        let name_of = |setting: &str,
                       spec: Option<&TaskInputParameterSpec>,
                       twin: Option<TaskInputParameterSpec>|
         -> Result<String, LocalError> {
            let spec = spec
                .cloned()
                .or(twin)
                .ok_or_else(|| error(format!("{setting}: no name given")))?;
            match parameter(setting, &spec)? {
                Some(Value::String(name)) => {
                    check_name(&name).map_err(|c| error(format!("{setting}: {c}")))?;
                    Ok(name)
                }
                Some(other) => Err(error(format!(
                    "{setting}: the name is not a string: {other}"
                ))),
                None => Err(error(format!("{setting}: the name has no value"))),
            }
        };
        let constant = |name: &Option<String>| {
            name.as_ref().map(|n| {
                TaskInputParameterSpec::from(TaskInputParameter::RuntimeValue(
                    kfp_compiler::ir::RuntimeValue {
                        constant: Value::String(n.clone()),
                    },
                ))
            })
        };
        let mut platform = TaskPlatform::default();
        for mount in &config.pvc_mount {
            let setting = format!("PVC mounted at {}", mount.mount_path);
            let claim = name_of(&setting, mount.pvc_name_parameter.as_ref(), pvc_twin(mount))?;
            let sub_path = check_sub_path(&mount.sub_path)
                .map_err(|c| error(format!("{setting}: subPath '{}': {c}", mount.sub_path)))?;
            platform.add_volume(
                task_path,
                &mount.mount_path,
                format!("PVC '{claim}'"),
                VolumeSource::Folder {
                    path: self.volumes_dir.join(&claim).join(sub_path),
                    create: true,
                },
            )?;
        }
        for secret in &config.secret_as_env {
            let name = name_of(
                "secret as env",
                secret.secret_name_parameter.as_ref(),
                constant(&secret.secret_name),
            )?;
            let keys = secret
                .key_to_env
                .iter()
                .map(|k| (k.secret_key.as_str(), k.env_var.as_str()));
            self.read_keys(
                task_path,
                Store::Secret,
                &name,
                keys,
                secret.optional.unwrap_or(false),
                &mut platform.env,
            )?;
        }
        for map in &config.config_map_as_env {
            let name = name_of(
                "config map as env",
                map.config_map_name_parameter.as_ref(),
                constant(&map.config_map_name),
            )?;
            let keys = map
                .key_to_env
                .iter()
                .map(|k| (k.config_map_key.as_str(), k.env_var.as_str()));
            self.read_keys(
                task_path,
                Store::ConfigMap,
                &name,
                keys,
                map.optional.unwrap_or(false),
                &mut platform.env,
            )?;
        }
        let store_volumes = config
            .secret_as_volume
            .iter()
            .map(|s| {
                (
                    Store::Secret,
                    &s.secret_name_parameter,
                    &s.secret_name,
                    &s.mount_path,
                    s.optional,
                )
            })
            .chain(config.config_map_as_volume.iter().map(|m| {
                (
                    Store::ConfigMap,
                    &m.config_map_name_parameter,
                    &m.config_map_name,
                    &m.mount_path,
                    m.optional,
                )
            }));
        for (store, parameter_spec, deprecated, mount_path, optional) in store_volumes {
            let setting = format!("{} mounted at {mount_path}", store.what());
            let name = name_of(&setting, parameter_spec.as_ref(), constant(deprecated))?;
            let folder = self.store_dir(store).map(|dir| dir.join(&name));
            match folder {
                Some(folder) if folder.is_dir() => platform.add_volume(
                    task_path,
                    mount_path,
                    format!("{} '{name}'", store.what()),
                    VolumeSource::Folder {
                        path: folder,
                        create: false,
                    },
                )?,
                _ if optional.unwrap_or(false) => {}
                Some(folder) => {
                    let problem = if folder.exists() {
                        "is not a folder"
                    } else {
                        "does not exist"
                    };
                    return Err(error(format!(
                        "{} '{name}' (mounted at {mount_path}): {} {problem}",
                        store.what(),
                        folder.display()
                    )));
                }
                None => {
                    return Err(error(format!(
                        "{} '{name}' (mounted at {mount_path}): no {} folder; {}",
                        store.what(),
                        store.what(),
                        store.how_to_give()
                    )));
                }
            }
        }
        for empty_dir in &config.empty_dir_mounts {
            check_name(&empty_dir.volume_name).map_err(|c| {
                error(format!(
                    "empty dir at {}: volume name: {c}",
                    empty_dir.mount_path
                ))
            })?;
            platform.add_volume(
                task_path,
                &empty_dir.mount_path,
                format!("empty dir '{}'", empty_dir.volume_name),
                VolumeSource::EmptyDir(empty_dir.volume_name.clone()),
            )?;
        }
        if !config.generic_ephemeral_volume.is_empty() {
            return Err(error(
                "generic ephemeral volumes are not supported by the local runner".into(),
            ));
        }
        for field in &config.field_path_as_env {
            let value = match field.field_path.as_str() {
                "metadata.name" => task_name,
                "metadata.namespace" => "local",
                other => {
                    return Err(error(format!(
                        "field path '{other}' (env {}) is not supported locally; only metadata.name and metadata.namespace are",
                        field.name
                    )));
                }
            };
            platform.env.push((field.name.clone(), value.to_owned()));
        }
        if let Some(seconds) = config.active_deadline_seconds {
            if seconds <= 0 {
                return Err(error(format!(
                    "activeDeadlineSeconds must be positive, got {seconds}"
                )));
            }
            platform.deadline = Some(Duration::from_secs(seconds as u64));
        }
        if let Some(memory) = &config.enabled_shared_memory {
            let size = if memory.size.is_empty() {
                String::new()
            } else {
                format!(" ({})", memory.size)
            };
            platform
                .notices
                .push(format!("shared memory{size}: the host's /dev/shm is used"));
        }
        let ignored = ignored_settings(config);
        if !ignored.is_empty() {
            platform
                .notices
                .push(format!("ignored locally: {}", ignored.join(", ")));
        }
        Ok(platform)
    }

    fn store_dir(&self, store: Store) -> Option<&Path> {
        match store {
            Store::Secret => self.secrets.as_deref(),
            Store::ConfigMap => self.config_maps.as_deref(),
        }
    }

    /// The env vars of one secret or config map: each key's file, or its absence judged by
    /// `optional`.
    fn read_keys<'k>(
        &self,
        task_path: &str,
        store: Store,
        name: &str,
        keys: impl Iterator<Item = (&'k str, &'k str)>,
        optional: bool,
        env: &mut Vec<(String, String)>,
    ) -> Result<(), LocalError> {
        let what = store.what();
        for (key, var) in keys {
            let error = |cause: String| {
                LocalError::task(
                    task_path,
                    format!("{what} '{name}' key '{key}' (env {var}): {cause}"),
                )
            };
            check_name(key).map_err(|c| error(format!("key: {c}")))?;
            let Some(dir) = self.store_dir(store) else {
                if optional {
                    continue;
                }
                return Err(error(format!("no {what} folder; {}", store.how_to_give())));
            };
            let file = dir.join(name).join(key);
            match std::fs::read(&file) {
                Ok(bytes) => {
                    let value = String::from_utf8(bytes)
                        .map_err(|_| error(format!("{} is not UTF-8 text", file.display())))?;
                    env.push((var.to_owned(), value));
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && optional => {}
                Err(err) => return Err(error(format!("{}: {err}", file.display()))),
            }
        }
        Ok(())
    }

    /// The folder of a PVC created by a `createpvc` step.
    pub fn create_volume(&self, name: &str) -> Result<PathBuf, String> {
        check_name(name).map_err(|c| format!("PVC name: {c}"))?;
        std::fs::create_dir_all(&self.volumes_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.volumes_dir.display()))?;
        let folder = self.volumes_dir.join(name);
        match std::fs::create_dir(&folder) {
            Ok(()) => Ok(folder),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(format!(
                "a PVC named '{name}' already exists in this run ({})",
                folder.display()
            )),
            Err(err) => Err(format!("cannot create {}: {err}", folder.display())),
        }
    }

    /// Removes a PVC's folder (a `deletepvc` step).
    pub fn delete_volume(&self, name: &str) -> Result<PathBuf, String> {
        check_name(name).map_err(|c| format!("PVC name: {c}"))?;
        let folder = self.volumes_dir.join(name);
        if !folder.is_dir() {
            return Err(format!(
                "no PVC named '{name}' in this run ({} does not exist)",
                folder.display()
            ));
        }
        std::fs::remove_dir_all(&folder)
            .map_err(|e| format!("cannot remove {}: {e}", folder.display()))?;
        Ok(folder)
    }

    /// Makes the task's volumes available: creates their folders, links the mount paths, and
    /// returns the `KFP_LOCAL_MOUNT_*` variables with a guard that unlinks when dropped.
    pub fn mount(
        &self,
        task_path: &str,
        task_dir: &Path,
        platform: &TaskPlatform,
        cancel: &AtomicBool,
    ) -> Result<(Vec<(String, String)>, MountGuard<'_>), LocalError> {
        let mut links = Vec::new();
        let mut env = Vec::new();
        for volume in &platform.volumes {
            let folder = match &volume.source {
                VolumeSource::Folder { path, create } => {
                    if *create {
                        std::fs::create_dir_all(path)
                            .map_err(LocalError::io("cannot create", path.clone()))?;
                    }
                    path.clone()
                }
                VolumeSource::EmptyDir(name) => {
                    let path = task_dir.join("empty-dirs").join(name);
                    if path.exists() {
                        std::fs::remove_dir_all(&path)
                            .map_err(LocalError::io("cannot empty", path.clone()))?;
                    }
                    std::fs::create_dir_all(&path)
                        .map_err(LocalError::io("cannot create", path.clone()))?;
                    path
                }
            };
            let folder = std::path::absolute(&folder)
                .map_err(LocalError::io("cannot resolve", folder.clone()))?;
            env.push((
                mount_env_name(&volume.mount_path),
                folder.to_string_lossy().into_owned(),
            ));
            links.push((volume.mount_path.clone(), folder, volume.label.clone()));
        }
        let guard = self.links.acquire(task_path, links, cancel)?;
        Ok((env, guard))
    }
}

impl TaskPlatform {
    fn add_volume(
        &mut self,
        task_path: &str,
        mount_path: &str,
        label: String,
        source: VolumeSource,
    ) -> Result<(), LocalError> {
        let path = PathBuf::from(mount_path);
        if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(LocalError::task(
                task_path,
                format!("mount path '{mount_path}' is not an absolute path without '..'"),
            ));
        }
        let env = mount_env_name(&path);
        if let Some(other) = self
            .volumes
            .iter()
            .find(|v| mount_env_name(&v.mount_path) == env)
        {
            return Err(LocalError::task(
                task_path,
                format!(
                    "mount paths {} and {mount_path} both map to {env}",
                    other.mount_path.display()
                ),
            ));
        }
        self.volumes.push(Volume {
            mount_path: path,
            source,
            label,
        });
        Ok(())
    }
}

/// The deprecated `pvc_reference` oneof of a PVC mount, as a parameter.
fn pvc_twin(mount: &PvcMount) -> Option<TaskInputParameterSpec> {
    let source = if let Some(name) = &mount.constant {
        TaskInputParameter::RuntimeValue(kfp_compiler::ir::RuntimeValue {
            constant: Value::String(name.clone()),
        })
    } else if let Some(input) = &mount.component_input_parameter {
        TaskInputParameter::ComponentInputParameter(input.clone())
    } else {
        TaskInputParameter::TaskOutputParameter(mount.task_output_parameter.clone()?)
    };
    Some(source.into())
}

fn ignored_settings(config: &KubernetesExecutorConfig) -> Vec<&'static str> {
    [
        (config.node_selector.is_some(), "node selector"),
        (!config.tolerations.is_empty(), "tolerations"),
        (!config.node_affinity.is_empty(), "node affinity"),
        (!config.pod_affinity.is_empty(), "pod affinity"),
        (!config.image_pull_secret.is_empty(), "image pull secrets"),
        (config.image_pull_policy.is_some(), "image pull policy"),
        (config.pod_metadata.is_some(), "pod labels and annotations"),
        (config.security_context.is_some(), "security context"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect()
}

/// A name used as one folder name: no separators, not `.` or `..`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!("'{name}' cannot name a local folder"));
    }
    Ok(())
}

fn check_sub_path(sub_path: &str) -> Result<PathBuf, String> {
    let path = Path::new(sub_path);
    if path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        Ok(path.to_owned())
    } else {
        Err("must be a relative path without '..'".into())
    }
}

/// `/data/x-y` -> `KFP_LOCAL_MOUNT_DATA_X_Y`.
pub fn mount_env_name(mount_path: &Path) -> String {
    let text = mount_path.to_string_lossy();
    let name: String = text
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{MOUNT_ENV_PREFIX}{name}")
}

/// The symlinks made at mount paths, shared by tasks that want the same folder there.
#[derive(Default)]
struct MountTable {
    links: Mutex<HashMap<PathBuf, Link>>,
    released: Condvar,
}

struct Link {
    target: PathBuf,
    users: usize,
}

/// Unlinks a task's mount paths (when no other task uses them) on drop.
pub struct MountGuard<'t> {
    table: &'t MountTable,
    paths: Vec<PathBuf>,
}

impl Drop for MountGuard<'_> {
    fn drop(&mut self) {
        let mut links = self.table.links.lock().expect("mount table lock");
        for path in &self.paths {
            let Some(link) = links.get_mut(path) else {
                continue;
            };
            link.users -= 1;
            if link.users == 0 {
                let link = links.remove(path).expect("present");
                // Only our own link goes: something else put there meanwhile stays.
                if std::fs::read_link(path).is_ok_and(|t| t == link.target) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        self.table.released.notify_all();
    }
}

impl MountTable {
    /// Links every mount path to its folder, all at once (so tasks cannot hold some each and
    /// wait for the others'), waiting while another running task has one for another folder.
    fn acquire(
        &self,
        task_path: &str,
        wanted: Vec<(PathBuf, PathBuf, String)>,
        cancel: &AtomicBool,
    ) -> Result<MountGuard<'_>, LocalError> {
        let mut links = self.links.lock().expect("mount table lock");
        loop {
            if cancel.load(Ordering::SeqCst) {
                return Err(LocalError::task(task_path, "cancelled before it started"));
            }
            let busy = wanted
                .iter()
                .any(|(path, target, _)| links.get(path).is_some_and(|l| &l.target != target));
            if !busy {
                break;
            }
            links = self
                .released
                .wait_timeout(links, Duration::from_millis(50))
                .expect("mount table lock")
                .0;
        }
        let mut guard = MountGuard {
            table: self,
            paths: Vec::new(),
        };
        for (path, target, label) in wanted {
            if let Some(link) = links.get_mut(&path) {
                link.users += 1;
            } else {
                let refuse = |why: String| {
                    LocalError::task(
                        task_path,
                        format!(
                            "cannot mount {label} at {} (folder {}): {why}; the task can read the folder's path from {}",
                            path.display(),
                            target.display(),
                            mount_env_name(&path)
                        ),
                    )
                };
                if std::fs::symlink_metadata(&path).is_ok() {
                    drop(links);
                    return Err(refuse(
                        "the path exists, and the local runner never replaces existing paths"
                            .into(),
                    ));
                }
                if let Err(err) = std::os::unix::fs::symlink(&target, &path) {
                    drop(links);
                    return Err(refuse(format!("cannot create a symlink there ({err})")));
                }
                links.insert(path.clone(), Link { target, users: 1 });
            }
            guard.paths.push(path);
        }
        drop(links);
        Ok(guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_env_names_and_folder_names() {
        assert_eq!(
            mount_env_name(Path::new("/data/x-y")),
            "KFP_LOCAL_MOUNT_DATA_X_Y"
        );
        assert!(check_name("a/b").is_err());
        assert!(check_name("..").is_err());
        assert!(check_name("claim-1").is_ok());
        assert!(check_sub_path("../x").is_err());
        assert_eq!(check_sub_path("a/b").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn links_are_shared_refused_over_existing_paths_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let table = MountTable::default();
        let (mount, target) = (dir.path().join("m"), dir.path().join("t"));
        std::fs::create_dir(&target).unwrap();
        let cancel = AtomicBool::new(false);
        let first = table
            .acquire(
                "a",
                vec![(mount.clone(), target.clone(), "PVC 'c'".into())],
                &cancel,
            )
            .unwrap();
        let second = table
            .acquire(
                "b",
                vec![(mount.clone(), target.clone(), "PVC 'c'".into())],
                &cancel,
            )
            .unwrap();
        drop(first);
        assert_eq!(std::fs::read_link(&mount).unwrap(), target);
        drop(second);
        assert!(std::fs::symlink_metadata(&mount).is_err());
        let existing = dir.path().join("existing");
        std::fs::write(&existing, "keep").unwrap();
        let err = table
            .acquire(
                "c",
                vec![(existing.clone(), target, "PVC 'c'".into())],
                &cancel,
            )
            .err()
            .expect("an existing path is refused")
            .to_string();
        assert!(err.contains("never replaces existing paths"), "{err}");
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep");
    }

    #[test]
    fn a_mount_path_wanted_for_another_folder_waits_for_its_user() {
        let dir = tempfile::tempdir().unwrap();
        let table = MountTable::default();
        let (mount, first_target, second_target) = (
            dir.path().join("m"),
            dir.path().join("t1"),
            dir.path().join("t2"),
        );
        let cancel = AtomicBool::new(false);
        let first = table
            .acquire(
                "a",
                vec![(mount.clone(), first_target.clone(), "PVC 'c'".into())],
                &cancel,
            )
            .unwrap();
        std::thread::scope(|threads| {
            let waiter = threads.spawn(|| {
                let guard = table
                    .acquire(
                        "b",
                        vec![(mount.clone(), second_target.clone(), "PVC 'd'".into())],
                        &cancel,
                    )
                    .unwrap();
                let linked = std::fs::read_link(&mount).unwrap() == second_target;
                drop(guard);
                linked
            });
            std::thread::sleep(Duration::from_millis(100));
            assert!(!waiter.is_finished(), "the second task must wait");
            assert_eq!(std::fs::read_link(&mount).unwrap(), first_target);
            drop(first);
            assert!(waiter.join().unwrap());
        });
        assert!(std::fs::symlink_metadata(&mount).is_err());
    }
}
