//! Input and output definitions of components, from the DSL's declarations.

use super::NeedKind;
use crate::dsl::{InputDef, InputKind, OutputDef, OutputKind};
use crate::ir::*;

pub(super) fn declare_input(definitions: &mut ComponentInputsSpec, name: &str, kind: &NeedKind) {
    match kind {
        NeedKind::Parameter(ty) => {
            definitions.parameters.insert(
                name.to_owned(),
                InputParameterSpec { default_value: None, description: None, is_optional: false, parameter_type: *ty },
            );
        }
        NeedKind::Artifact(schema, list) => {
            definitions.artifacts.insert(
                name.to_owned(),
                InputArtifactSpec {
                    artifact_type: schema.clone(),
                    description: None,
                    is_artifact_list: *list,
                    is_optional: false,
                },
            );
        }
    }
}

pub(super) fn input_definitions(inputs: &[InputDef]) -> ComponentInputsSpec {
    let mut defs = ComponentInputsSpec::default();
    for input in inputs {
        match &input.kind {
            InputKind::Parameter { ty, optional, default } => {
                defs.parameters.insert(
                    input.name.to_owned(),
                    InputParameterSpec {
                        default_value: default.clone(),
                        description: None,
                        is_optional: *optional || default.is_some(),
                        parameter_type: *ty,
                    },
                );
            }
            InputKind::Artifact { schema, list, optional } => {
                defs.artifacts.insert(
                    input.name.to_owned(),
                    InputArtifactSpec {
                        artifact_type: schema.clone(),
                        description: None,
                        is_artifact_list: *list,
                        is_optional: *optional,
                    },
                );
            }
        }
    }
    defs
}

pub(super) fn output_definitions(outputs: &[OutputDef]) -> ComponentOutputsSpec {
    let mut defs = ComponentOutputsSpec::default();
    for output in outputs {
        match &output.kind {
            OutputKind::Parameter(ty) => {
                defs.parameters
                    .insert(output.name.to_owned(), OutputParameterSpec { description: None, parameter_type: *ty });
            }
            OutputKind::Artifact { schema, list } => {
                defs.artifacts.insert(
                    output.name.to_owned(),
                    OutputArtifactSpec { artifact_type: schema.clone(), description: None, is_artifact_list: *list },
                );
            }
        }
    }
    defs
}
