//! Task handles: what a component call returns inside a pipeline body.

use super::component::{Resources, RetrySettings};
use super::resource_setting::{IntoAcceleratorCount, IntoResourceSetting, ResourceField, ResourceValue};
use super::graph::{TaskId, with_task};

/// A task in the pipeline being built. `outputs` holds its typed output channels.
///
/// The setters mirror kfp's `PipelineTask` and return the handle, so they chain:
/// `train(data, 0.1).set_accelerator_limit(2).set_retry(3)`.
#[derive(Clone, Copy)]
pub struct Task<O> {
    id: TaskId,
    pub outputs: O,
}

impl<O> Task<O> {
    #[doc(hidden)]
    pub fn new(id: TaskId, outputs: O) -> Self {
        Self { id, outputs }
    }

    /// The task's identity in its graph.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Runs this task only after `other` has succeeded, without passing data.
    pub fn after<P>(self, other: &Task<P>) -> Self {
        let upstream = other.id;
        with_task(self.id, |t| t.after.push(upstream));
        self
    }

    /// CPU limit as a Kubernetes quantity (`"8"`, `"500m"`), or a `Param<String>` read when the
    /// task starts (a pipeline input or an upstream output, like kfp's `set_cpu_limit(channel)`).
    pub fn set_cpu_limit(self, cpu: impl IntoResourceSetting) -> Self {
        self.set_resource(ResourceField::CpuLimit, cpu.into_resource(), |r| &mut r.cpu_limit)
    }

    /// CPU request, as [`Task::set_cpu_limit`] takes it.
    pub fn set_cpu_request(self, cpu: impl IntoResourceSetting) -> Self {
        self.set_resource(ResourceField::CpuRequest, cpu.into_resource(), |r| &mut r.cpu_request)
    }

    /// Memory limit as a Kubernetes quantity (`"32Gi"`, `"512M"`), or a `Param<String>`.
    pub fn set_memory_limit(self, memory: impl IntoResourceSetting) -> Self {
        self.set_resource(ResourceField::MemoryLimit, memory.into_resource(), |r| &mut r.memory_limit)
    }

    /// Memory request, as [`Task::set_memory_limit`] takes it.
    pub fn set_memory_request(self, memory: impl IntoResourceSetting) -> Self {
        self.set_resource(ResourceField::MemoryRequest, memory.into_resource(), |r| &mut r.memory_request)
    }

    /// Accelerator resource name, such as `nvidia.com/gpu`, or a `Param<String>`. Without a
    /// count, the task asks for one.
    pub fn set_accelerator_type(self, accelerator: impl IntoResourceSetting) -> Self {
        self.set_resource(ResourceField::AcceleratorType, accelerator.into_resource(), |r| &mut r.accelerator_type)
    }

    /// Number of accelerators: a count (`2`, or `"2"` as kfp also takes), or a `Param<i64>` /
    /// `Param<String>`.
    pub fn set_accelerator_limit<Kind>(self, count: impl IntoAcceleratorCount<Kind>) -> Self {
        self.set_resource(ResourceField::AcceleratorCount, count.into_resource(), |r| &mut r.accelerator_limit)
    }

    /// Turns execution caching on or off for this task.
    pub fn set_caching_options(self, enable_cache: bool) -> Self {
        self.change(|t| t.overrides.caching = Some(enable_cache))
    }

    /// Retries a failed task up to `num_retries` times with kfp's default backoff.
    pub fn set_retry(self, num_retries: u32) -> Self {
        self.set_retry_policy(RetrySettings::retries(num_retries))
    }

    /// Retries with an explicit backoff policy.
    pub fn set_retry_policy(self, policy: RetrySettings) -> Self {
        self.change(|t| t.overrides.retry = Some(policy))
    }

    /// The name shown in the KFP UI (`taskInfo.name`); the task key stays as it was.
    pub fn set_display_name(self, name: impl Into<String>) -> Self {
        self.change(|t| t.overrides.display_name = Some(name.into()))
    }

    /// Runs this task even when upstream tasks failed (kfp's `ignore_upstream_failure`).
    pub fn ignore_upstream_failure(self) -> Self {
        self.change(|t| t.overrides.ignore_upstream_failure = true)
    }

    /// Sets an environment variable in the task's container.
    pub fn set_env_variable(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        // Like kfp's env dict: setting a variable again changes its value, not its place.
        self.change(|t| match t.overrides.env.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => t.overrides.env.push((name, value)),
        })
    }

    /// Like kfp, the last setting wins, whether a literal or a channel.
    fn set_resource<T>(
        self,
        field: ResourceField,
        value: ResourceValue<T>,
        literal: fn(&mut Resources) -> &mut Option<T>,
    ) -> Self {
        self.change(|t| match value {
            ResourceValue::Literal(value) => {
                *literal(&mut t.overrides.resources) = Some(value);
                t.overrides.resource_channels.remove(&field);
            }
            ResourceValue::Channel(channel) => {
                *literal(&mut t.overrides.resources) = None;
                t.overrides.resource_channels.insert(field, channel);
            }
        })
    }

    fn change(self, f: impl FnOnce(&mut super::graph::TaskNode)) -> Self {
        with_task(self.id, f);
        self
    }
}
