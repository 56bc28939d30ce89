//! kfp's `dsl.importer`: bring an existing artifact (by URI) into a pipeline.

use super::channel::{ArtifactRef, IntoParam};
use super::component::{ComponentDef, Implementation, ImporterDef, InputDef, InputKind, OutputDef, OutputKind};
use super::graph::add_task;
use super::task::Task;
use super::types::ArtifactType;
use crate::ir::ParameterType;

/// The outputs of an importer task: the imported artifact.
#[derive(Clone, Copy)]
pub struct Imported<A> {
    pub artifact: ArtifactRef<A>,
}

/// `reimport` and `metadata` of kfp's `dsl.importer`.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub reimport: bool,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Imports the artifact at `uri` (a constant or a `Param<String>`) as an `A`.
pub fn importer<A: ArtifactType>(uri: impl IntoParam<String>) -> Task<Imported<A>> {
    importer_with::<A>(uri, ImportOptions::default())
}

/// `importer` with kfp's `reimport` and `metadata` settings.
pub fn importer_with<A: ArtifactType>(uri: impl IntoParam<String>, options: ImportOptions) -> Task<Imported<A>> {
    let component = ComponentDef {
        name: "importer",
        description: None,
        inputs: vec![InputDef {
            name: "uri",
            kind: InputKind::Parameter { ty: ParameterType::String, optional: false, default: None },
        }],
        outputs: vec![OutputDef { name: "artifact", kind: OutputKind::Artifact { schema: A::schema(), list: false } }],
        implementation: Implementation::Importer(ImporterDef {
            schema: A::schema(),
            reimport: options.reimport,
            metadata: options.metadata,
        }),
    };
    let id = add_task(component, vec![("uri", uri.into_argument())]);
    Task::new(id, Imported { artifact: ArtifactRef::task_output(id, "artifact") })
}
