"""kfp's version of examples/src/fan_in.rs: a ParallelFor training a model per seed, both the
models and the scores gathered with dsl.Collected into one task, and the models returned as the
pipeline's List[Model] output."""
import sys
from typing import List

from kfp import compiler, dsl
from kfp.dsl import Input, Model, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def train_candidate(seed: int, model: Output[Model]) -> float:
    return 0.0


@dsl.component(base_image=IMAGE)
def pick_best(models: Input[List[Model]], scores: List[float]) -> str:
    return ""


@dsl.pipeline(name="fan-in")
def fan_in(seeds: List[int] = [1, 2, 3]) -> List[Model]:
    with dsl.ParallelFor(seeds) as seed:
        trained = train_candidate(seed=seed)
    pick_best(
        models=dsl.Collected(trained.outputs["model"]),
        scores=dsl.Collected(trained.outputs["Output"]),
    )
    return dsl.Collected(trained.outputs["model"])


if __name__ == "__main__":
    compiler.Compiler().compile(fan_in, sys.argv[1])
