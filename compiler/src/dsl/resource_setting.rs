//! Resource settings that a task may read at run time: kfp's `set_cpu_limit(channel)`.
//!
//! A literal stays in [`super::Resources`] (validated when the pipeline compiles); a channel is
//! kept per [`ResourceField`] on the task and becomes a `pipelinechannel--` input of it, which
//! the backend substitutes into the container's `resource*` fields when the task starts.

use super::channel::{Argument, IntoParam};
use serde_json::Value;

/// A setting kfp accepts a pipeline parameter or a task output for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceField {
    CpuLimit,
    CpuRequest,
    MemoryLimit,
    MemoryRequest,
    AcceleratorType,
    AcceleratorCount,
}

impl ResourceField {
    pub const ALL: [ResourceField; 6] = [
        Self::CpuLimit,
        Self::CpuRequest,
        Self::MemoryLimit,
        Self::MemoryRequest,
        Self::AcceleratorType,
        Self::AcceleratorCount,
    ];

    /// The task input kfp adds for a channel-valued setting; its constant is the placeholder
    /// the container's resource field holds (kfp names it after its `ResourceSpec` field).
    pub fn input_name(self) -> &'static str {
        match self {
            Self::CpuLimit => "cpu_limit",
            Self::CpuRequest => "cpu_request",
            Self::MemoryLimit => "memory_limit",
            Self::MemoryRequest => "memory_request",
            Self::AcceleratorType => "accelerator_type",
            Self::AcceleratorCount => "accelerator_count",
        }
    }

    /// The setting as its task setter names it (`set_<setting>`), for error messages.
    pub fn setting(self) -> &'static str {
        match self {
            Self::AcceleratorCount => "accelerator_limit",
            other => other.input_name(),
        }
    }
}

/// A resource setting as given to a task setter: a literal or a channel read at run time.
#[doc(hidden)]
pub enum ResourceValue<T> {
    Literal(T),
    /// A channel; for an accelerator count also a constant that is not a count, which the
    /// lowering reports (a setter cannot fail).
    Channel(Argument),
}

/// What `set_cpu_limit`, `set_memory_limit`, their `_request` twins and `set_accelerator_type`
/// accept: a literal (`"8"`, `"500m"`, `"32Gi"`, `"nvidia.com/gpu"`) or a string channel (a
/// `Param<String>` pipeline input or task output, a ParallelFor item).
#[diagnostic::on_unimplemented(
    message = "a resource setting takes a string literal or a string parameter, found `{Self}`",
    label = "not a quantity or a `Param<String>`",
    note = "pass a literal like \"8\", \"500m\" or \"32Gi\", or a `Param<String>` (a pipeline input, a task output, a loop item)"
)]
pub trait IntoResourceSetting {
    #[doc(hidden)]
    fn into_resource(self) -> ResourceValue<String>;
}

impl<P: IntoParam<String>> IntoResourceSetting for P {
    fn into_resource(self) -> ResourceValue<String> {
        match self.into_argument() {
            Argument::Constant(Value::String(literal)) => ResourceValue::Literal(literal),
            channel => ResourceValue::Channel(channel),
        }
    }
}

/// What `set_accelerator_limit` accepts, like kfp an int or a str: a count (`2`, `"2"`) or an
/// integer or string channel. `Kind` (`i64` or `String`) only tells the two impls apart.
#[diagnostic::on_unimplemented(
    message = "an accelerator count takes an integer or a string of digits, or such a parameter, found `{Self}`",
    label = "not an accelerator count",
    note = "pass a literal like `2`, or a `Param<i64>` / `Param<String>` (a pipeline input, a task output, a loop item)"
)]
pub trait IntoAcceleratorCount<Kind> {
    #[doc(hidden)]
    fn into_resource(self) -> ResourceValue<u32>;
}

impl<P: IntoParam<i64>> IntoAcceleratorCount<i64> for P {
    fn into_resource(self) -> ResourceValue<u32> {
        count(self.into_argument())
    }
}

impl<P: IntoParam<String>> IntoAcceleratorCount<String> for P {
    fn into_resource(self) -> ResourceValue<u32> {
        count(self.into_argument())
    }
}

/// kfp takes a count as a non-negative integer or a string of digits.
fn count(argument: Argument) -> ResourceValue<u32> {
    let literal = match &argument {
        Argument::Constant(Value::Number(n)) => n.as_u64(),
        Argument::Constant(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    };
    match literal.and_then(|n| u32::try_from(n).ok()) {
        Some(n) => ResourceValue::Literal(n),
        None => ResourceValue::Channel(argument),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_of<K>(value: impl IntoAcceleratorCount<K>) -> Result<u32, Argument> {
        match value.into_resource() {
            ResourceValue::Literal(n) => Ok(n),
            ResourceValue::Channel(argument) => Err(argument),
        }
    }

    #[test]
    fn counts_are_integers_or_strings_of_digits_like_kfp() {
        assert_eq!(count_of(2), Ok(2));
        assert_eq!(count_of(4_u32), Ok(4));
        assert_eq!(count_of("3"), Ok(3));
        // Not counts: kept as constants for the lowering to report.
        for (bad, constant) in [(count_of(-1), serde_json::json!(-1)), (count_of("two"), serde_json::json!("two"))] {
            assert_eq!(bad, Err(Argument::Constant(constant)));
        }
        assert_eq!(count_of(""), Err(Argument::Constant(serde_json::json!(""))));
    }

    #[test]
    fn string_literals_stay_literals_and_channels_stay_channels() {
        assert!(matches!(IntoResourceSetting::into_resource("500m"), ResourceValue::Literal(s) if s == "500m"));
        let cpu = crate::dsl::Param::<String>::pipeline_input("cpu");
        let channel = IntoResourceSetting::into_resource(cpu);
        assert!(matches!(channel, ResourceValue::Channel(Argument::PipelineParam("cpu"))));
    }
}
