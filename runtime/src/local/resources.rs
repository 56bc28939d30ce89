//! A container's CPU, memory and accelerator settings, which a local run does not enforce: the
//! runner reports them, with the values of those read from a parameter when the task starts
//! (`{{$.inputs.parameters['pipelinechannel--cpu']}}`), resolved as the KFP driver does.

use super::driver::{Bindings, parameter_text};
use kfp_compiler::ir::ResourceSpec;

/// The notice for a task's resources (`None` when it sets none), or why a placeholder in them
/// has no value.
pub(super) fn resource_notice(
    resources: Option<&ResourceSpec>,
    inputs: &Bindings,
) -> Result<Option<String>, String> {
    let Some(r) = resources else { return Ok(None) };
    let number = |value: Option<f64>, unit: &str| value.map(|v| format!("{v}{unit}"));
    // The `resource*` field, or for older IR its deprecated numeric twin.
    let settings = [
        (
            "CPU limit",
            "resourceCpuLimit",
            &r.resource_cpu_limit,
            number(r.cpu_limit, ""),
        ),
        (
            "CPU request",
            "resourceCpuRequest",
            &r.resource_cpu_request,
            number(r.cpu_request, ""),
        ),
        (
            "memory limit",
            "resourceMemoryLimit",
            &r.resource_memory_limit,
            number(r.memory_limit, "G"),
        ),
        (
            "memory request",
            "resourceMemoryRequest",
            &r.resource_memory_request,
            number(r.memory_request, "G"),
        ),
    ];
    let mut parts = Vec::new();
    for (label, field, text, deprecated) in settings {
        if let Some(value) = text
            .as_ref()
            .map(|t| resolve(field, t, inputs))
            .transpose()?
            .or(deprecated)
        {
            parts.push(format!("{label} {value}"));
        }
    }
    if let Some(accelerator) = &r.accelerator {
        let kind = accelerator
            .resource_type
            .as_ref()
            .or(accelerator.accelerator_type.as_ref());
        let count = accelerator
            .resource_count
            .as_ref()
            .or(accelerator.count.as_ref());
        let kind = kind
            .map(|k| resolve("accelerator.resourceType", k, inputs))
            .transpose()?;
        let count = count
            .map(|c| resolve("accelerator.resourceCount", c, inputs))
            .transpose()?;
        parts.push(format!(
            "{} x {}",
            count.as_deref().unwrap_or("1"),
            kind.as_deref().unwrap_or("accelerator")
        ));
    }
    Ok((!parts.is_empty())
        .then(|| format!("resources are not enforced locally: {}", parts.join(", "))))
}

/// `text` with each `{{$.inputs.parameters['NAME']}}` replaced by that input's value.
fn resolve(field: &str, text: &str, inputs: &Bindings) -> Result<String, String> {
    const OPEN: &str = "{{$.inputs.parameters['";
    const CLOSE: &str = "']}}";
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else { break };
        let name = &after[..end];
        let value = inputs.parameters.get(name).filter(|v| !v.is_null()).ok_or_else(|| {
            format!("resources.{field} reads input '{name}', which the task was not given a value for")
        })?;
        out.push_str(&rest[..start]);
        out.push_str(&parameter_text(value));
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kfp_compiler::ir::AcceleratorConfig;
    use serde_json::json;

    fn inputs() -> Bindings {
        let mut bindings = Bindings::default();
        bindings
            .parameters
            .insert("pipelinechannel--cpu".into(), json!("4"));
        bindings
            .parameters
            .insert("pipelinechannel--pick-gpus-Output".into(), json!(2));
        bindings
    }

    #[test]
    fn literals_and_resolved_placeholders_are_reported() {
        let spec = ResourceSpec {
            resource_cpu_limit: Some("{{$.inputs.parameters['pipelinechannel--cpu']}}".into()),
            memory_limit: Some(34.359738368),
            resource_memory_limit: Some("32Gi".into()),
            accelerator: Some(AcceleratorConfig {
                resource_count: Some(
                    "{{$.inputs.parameters['pipelinechannel--pick-gpus-Output']}}".into(),
                ),
                resource_type: Some("nvidia.com/gpu".into()),
                accelerator_type: Some("nvidia.com/gpu".into()),
                count: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            resource_notice(Some(&spec), &inputs()).unwrap().as_deref(),
            Some(
                "resources are not enforced locally: CPU limit 4, memory limit 32Gi, 2 x nvidia.com/gpu"
            )
        );
    }

    #[test]
    fn older_ir_with_only_numeric_fields_is_reported_too() {
        let spec = ResourceSpec {
            cpu_request: Some(0.5),
            ..Default::default()
        };
        assert_eq!(
            resource_notice(Some(&spec), &Bindings::default())
                .unwrap()
                .as_deref(),
            Some("resources are not enforced locally: CPU request 0.5")
        );
        assert_eq!(resource_notice(None, &Bindings::default()).unwrap(), None);
    }

    #[test]
    fn a_placeholder_without_a_value_is_named() {
        let spec = ResourceSpec {
            resource_memory_request: Some(
                "{{$.inputs.parameters['pipelinechannel--memory']}}".into(),
            ),
            ..Default::default()
        };
        assert_eq!(
            resource_notice(Some(&spec), &inputs()).unwrap_err(),
            "resources.resourceMemoryRequest reads input 'pipelinechannel--memory', which the task was not given a value for"
        );
    }
}
