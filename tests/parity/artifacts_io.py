"""Every artifact type as an output of one task and an input of the next."""
import sys

from kfp import compiler, dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    SlicedClassificationMetrics,
)

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def make_artifacts(
    artifact: Output[Artifact],
    dataset: Output[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    sliced: Output[SlicedClassificationMetrics],
    html: Output[HTML],
    markdown: Output[Markdown],
):
    pass


@dsl.component(base_image=IMAGE)
def use_artifacts(
    artifact: Input[Artifact],
    dataset: Input[Dataset],
    model: Input[Model],
    metrics: Input[Metrics],
    classification: Input[ClassificationMetrics],
    sliced: Input[SlicedClassificationMetrics],
    html: Input[HTML],
    markdown: Input[Markdown],
    extra: Input[Dataset] = None,
):
    pass


@dsl.pipeline(name="artifacts-io")
def artifacts_io():
    made = make_artifacts()
    use_artifacts(
        artifact=made.outputs["artifact"],
        dataset=made.outputs["dataset"],
        model=made.outputs["model"],
        metrics=made.outputs["metrics"],
        classification=made.outputs["classification"],
        sliced=made.outputs["sliced"],
        html=made.outputs["html"],
        markdown=made.outputs["markdown"],
    )
    use_artifacts(
        artifact=made.outputs["artifact"],
        dataset=made.outputs["dataset"],
        model=made.outputs["model"],
        metrics=made.outputs["metrics"],
        classification=made.outputs["classification"],
        sliced=made.outputs["sliced"],
        html=made.outputs["html"],
        markdown=made.outputs["markdown"],
        extra=made.outputs["dataset"],
    )


if __name__ == "__main__":
    compiler.Compiler().compile(artifacts_io, sys.argv[1])
