#![allow(unused_variables)]

use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn make_artifacts(
    artifact: Output<Artifact>,
    dataset: Output<Dataset>,
    model: Output<Model>,
    metrics: Output<Metrics>,
    classification: Output<ClassificationMetrics>,
    sliced: Output<SlicedClassificationMetrics>,
    html: Output<Html>,
    markdown: Output<Markdown>,
) -> Result<()> {
    Ok(())
}

#[component(image = "python:3.11")]
pub fn use_artifacts(
    artifact: Input<Artifact>,
    dataset: Input<Dataset>,
    model: Input<Model>,
    metrics: Input<Metrics>,
    classification: Input<ClassificationMetrics>,
    sliced: Input<SlicedClassificationMetrics>,
    html: Input<Html>,
    markdown: Input<Markdown>,
    extra: Option<Input<Dataset>>,
) -> Result<()> {
    Ok(())
}

#[pipeline(name = "artifacts-io")]
pub fn artifacts_io() {
    let made = make_artifacts().outputs;
    use_artifacts(
        made.artifact,
        made.dataset,
        made.model,
        made.metrics,
        made.classification,
        made.sliced,
        made.html,
        made.markdown,
    );
    use_artifacts(
        made.artifact,
        made.dataset,
        made.model,
        made.metrics,
        made.classification,
        made.sliced,
        made.html,
        made.markdown,
        extra = made.dataset,
    );
}
