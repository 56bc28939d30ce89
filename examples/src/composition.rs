//! Importing existing artifacts, a pipeline used as a task, and pipeline outputs.

use kfp::prelude::*;

/// Describes a dataset.
#[component]
pub fn describe(data: Input<Dataset>) -> Result<String> {
    Ok(format!("{} ({} metadata keys)", data.uri(), data.metadata().len()))
}

/// Writes a model.
#[component]
pub fn make_model(model: Output<Model>) -> Result<()> {
    std::fs::write(model.path(), b"weights")?;
    Ok(())
}

/// A pipeline used as a task below; its output is its task's model.
#[pipeline(name = "model-maker")]
pub fn model_maker(#[default("a")] tag: String) -> ArtifactRef<Model> {
    make_model().outputs.model
}

/// Imports a dataset by URI (a parameter) and a fixed one, describes both, and returns one
/// description as the pipeline's output.
#[pipeline(name = "composition")]
pub fn composition(#[default("gs://bucket/data.csv")] uri: String) -> Param<String> {
    let options = ImportOptions { reimport: true, metadata: serde_json::json!({"k": "v"}).as_object().cloned() };
    let imported = importer_with::<Dataset>(uri, options);
    let fixed = importer::<Dataset>("gs://x/y");
    let described = describe(imported.outputs.artifact);
    describe(fixed.outputs.artifact);
    model_maker();
    described.outputs.output
}
