"""Parameter and artifact data passing, plus a control-only dependency (`.after`)."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Model, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def produce(seed: int, data: Output[Dataset]) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def consume(message: str, data: Input[Dataset], model: Output[Model]) -> float:
    return 0.0


@dsl.component(base_image=IMAGE)
def report(score: float, model: Input[Model]):
    pass


@dsl.component(base_image=IMAGE)
def cleanup(note: str):
    pass


@dsl.pipeline(name="data-passing")
def data_passing(seed: int = 1):
    produced = produce(seed=seed)
    consumed = consume(message=produced.outputs["Output"], data=produced.outputs["data"])
    reported = report(score=consumed.outputs["Output"], model=consumed.outputs["model"])
    cleanup(note="done").after(reported).after(produced)


if __name__ == "__main__":
    compiler.Compiler().compile(data_passing, sys.argv[1])
