"""kfp's version of examples/src/training.rs (component-level resources become task setters)."""
import sys
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def load_data(source_uri: str, dataset: Output[Dataset]):
    pass


@dsl.component(base_image=IMAGE)
def train(data: Input[Dataset], epochs: int, model: Output[Model], metrics: Output[Metrics], lr: float = 1e-3) -> float:
    return 0.0


@dsl.component(base_image=IMAGE)
def evaluate(model: Input[Model], threshold: float = 0.5) -> NamedTuple("Evaluation", [("accuracy", float), ("passed", bool)]):
    Evaluation = NamedTuple("Evaluation", [("accuracy", float), ("passed", bool)])
    return Evaluation(0.0, False)


@dsl.pipeline(name="training-pipeline", description="Load data, train on a GPU, evaluate")
def training(dataset_uri: str, lr: float = 1e-3):
    data = load_data(source_uri=dataset_uri)
    trained = (
        train(data=data.outputs["dataset"], lr=lr, epochs=10)
        .set_cpu_limit("8")
        .set_memory_limit("32Gi")
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(2)
        .set_retry(3)
    )
    evaluate(model=trained.outputs["model"]).after(trained)


if __name__ == "__main__":
    compiler.Compiler().compile(training, sys.argv[1])
