//! A container's CPU, memory and accelerator settings, written as kfp 2.17 writes them.
//!
//! A literal is written twice: verbatim in the `resource*` field and converted in the
//! deprecated numeric one that older backends read (kubeflow/pipelines#11374). A setting read
//! from a channel is only a placeholder for the task input that carries it
//! (`{{$.inputs.parameters['pipelinechannel--cpu']}}`), which the backend substitutes when the
//! task starts, so only the `resource*` field is written.

use crate::dsl::{ResourceField, Resources, cpu_to_cores, memory_to_gb};
use crate::ir::{AcceleratorConfig, ResourceSpec};
use std::collections::BTreeMap;

pub(super) const CPU: &str = "CPU quantity (like \"8\" or \"500m\")";
pub(super) const MEMORY: &str = "memory quantity (like \"32Gi\" or \"512M\")";

/// `{{$.inputs.parameters['NAME']}}`.
pub(super) fn input_placeholder(input: &str) -> String {
    format!("{{{{$.inputs.parameters['{input}']}}}}")
}

/// The container's `resources` (`None` when nothing is set) from its literal settings and the
/// task inputs that carry its channel-valued ones; problems as (setting, message).
pub(super) fn resource_spec(
    literals: &Resources,
    channel_inputs: &BTreeMap<ResourceField, String>,
) -> (Option<ResourceSpec>, Vec<(&'static str, String)>) {
    let mut problems = Vec::new();
    let mut spec = ResourceSpec::default();
    let mut quantity = |field: ResourceField, literal: &Option<String>, convert: fn(&str) -> Option<f64>, hint: &str| {
        if let Some(input) = channel_inputs.get(&field) {
            return Some((Some(input_placeholder(input)), None));
        }
        let value = literal.as_ref()?;
        let converted = convert(value);
        if converted.is_none() {
            problems.push((field.setting(), format!("{value:?} is not a {hint}")));
        }
        Some((Some(value.clone()), converted))
    };
    if let Some(pair) = quantity(ResourceField::CpuLimit, &literals.cpu_limit, cpu_to_cores, CPU) {
        (spec.resource_cpu_limit, spec.cpu_limit) = pair;
    }
    if let Some(pair) = quantity(ResourceField::CpuRequest, &literals.cpu_request, cpu_to_cores, CPU) {
        (spec.resource_cpu_request, spec.cpu_request) = pair;
    }
    if let Some(pair) = quantity(ResourceField::MemoryLimit, &literals.memory_limit, memory_to_gb, MEMORY) {
        (spec.resource_memory_limit, spec.memory_limit) = pair;
    }
    if let Some(pair) = quantity(ResourceField::MemoryRequest, &literals.memory_request, memory_to_gb, MEMORY) {
        (spec.resource_memory_request, spec.memory_request) = pair;
    }
    // (new field, deprecated field): a placeholder has no deprecated form.
    let setting = |field: ResourceField, literal: Option<String>| match channel_inputs.get(&field) {
        Some(input) => Some((input_placeholder(input), None)),
        None => literal.map(|value| (value.clone(), Some(value))),
    };
    let kind = setting(ResourceField::AcceleratorType, literals.accelerator_type.clone());
    let count = setting(ResourceField::AcceleratorCount, literals.accelerator_limit.map(|n| n.to_string()));
    match (kind, count) {
        (Some((resource_type, accelerator_type)), count) => {
            // kfp: setting the type alone asks for one accelerator.
            let (resource_count, count) = count.unwrap_or_else(|| ("1".into(), Some("1".into())));
            spec.accelerator = Some(AcceleratorConfig {
                count,
                resource_count: Some(resource_count),
                resource_type: Some(resource_type),
                accelerator_type,
            });
        }
        (None, Some(_)) => problems.push((
            ResourceField::AcceleratorCount.setting(),
            "an accelerator count needs an accelerator type (like \"nvidia.com/gpu\")".into(),
        )),
        (None, None) => {}
    }
    ((spec != ResourceSpec::default()).then_some(spec), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_literals() -> Resources {
        Resources {
            cpu_limit: Some("8".into()),
            memory_limit: Some("32Gi".into()),
            accelerator_type: Some("nvidia.com/gpu".into()),
            accelerator_limit: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn literals_fill_both_field_forms() {
        let (spec, problems) = resource_spec(&gpu_literals(), &BTreeMap::new());
        let spec = spec.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((spec.resource_cpu_limit.as_deref(), spec.cpu_limit), (Some("8"), Some(8.0)));
        assert_eq!((spec.resource_memory_limit.as_deref(), spec.memory_limit), (Some("32Gi"), Some(34.359738368)));
        let accelerator = spec.accelerator.unwrap();
        assert_eq!((accelerator.count.as_deref(), accelerator.resource_count.as_deref()), (Some("2"), Some("2")));
        assert_eq!(accelerator.accelerator_type.as_deref(), Some("nvidia.com/gpu"));
    }

    #[test]
    fn channels_win_over_literals_and_drop_the_deprecated_fields() {
        let channels = BTreeMap::from([
            (ResourceField::CpuLimit, "pipelinechannel--cpu".to_owned()),
            (ResourceField::AcceleratorCount, "pipelinechannel--pick-gpus-Output".to_owned()),
        ]);
        let (spec, problems) = resource_spec(&gpu_literals(), &channels);
        let spec = spec.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(spec.resource_cpu_limit.as_deref(), Some("{{$.inputs.parameters['pipelinechannel--cpu']}}"));
        assert_eq!(spec.cpu_limit, None);
        // Untouched literals keep both forms.
        assert_eq!(spec.memory_limit, Some(34.359738368));
        let accelerator = spec.accelerator.unwrap();
        assert_eq!(accelerator.count, None);
        assert_eq!(
            accelerator.resource_count.as_deref(),
            Some("{{$.inputs.parameters['pipelinechannel--pick-gpus-Output']}}")
        );
        assert_eq!(accelerator.accelerator_type.as_deref(), Some("nvidia.com/gpu"));
    }

    #[test]
    fn a_channel_type_alone_asks_for_one_accelerator() {
        let channels = BTreeMap::from([(ResourceField::AcceleratorType, "pipelinechannel--gpu_type".to_owned())]);
        let (spec, _) = resource_spec(&Resources::default(), &channels);
        let accelerator = spec.unwrap().accelerator.unwrap();
        assert_eq!((accelerator.count.as_deref(), accelerator.resource_count.as_deref()), (Some("1"), Some("1")));
        assert_eq!(accelerator.accelerator_type, None);
        assert_eq!(accelerator.resource_type.as_deref(), Some("{{$.inputs.parameters['pipelinechannel--gpu_type']}}"));
    }

    #[test]
    fn bad_literals_and_a_count_without_a_type_are_named() {
        let literals = Resources { cpu_limit: Some("lots".into()), ..Default::default() };
        let channels = BTreeMap::from([(ResourceField::AcceleratorCount, "pipelinechannel--gpus".to_owned())]);
        let (_, problems) = resource_spec(&literals, &channels);
        assert_eq!(
            problems,
            [
                ("cpu_limit", "\"lots\" is not a CPU quantity (like \"8\" or \"500m\")".to_owned()),
                ("accelerator_limit", "an accelerator count needs an accelerator type (like \"nvidia.com/gpu\")".to_owned()),
            ]
        );
    }
}
