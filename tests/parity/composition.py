"""kfp's version of examples/src/composition.rs: importers (by parameter and constant URI, with
metadata and reimport), a pipeline with an artifact output used as a task, and a pipeline
output."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Model, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def describe(data: Input[Dataset]) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def make_model(model: Output[Model]):
    pass


@dsl.pipeline(name="model-maker")
def model_maker(tag: str = "a") -> Model:
    return make_model().outputs["model"]


@dsl.pipeline(name="composition")
def composition(uri: str = "gs://bucket/data.csv") -> str:
    imported = dsl.importer(artifact_uri=uri, artifact_class=Dataset, reimport=True, metadata={"k": "v"})
    fixed = dsl.importer(artifact_uri="gs://x/y", artifact_class=Dataset)
    described = describe(data=imported.output)
    describe(data=fixed.output)
    model_maker()
    return described.output


if __name__ == "__main__":
    compiler.Compiler().compile(composition, sys.argv[1])
