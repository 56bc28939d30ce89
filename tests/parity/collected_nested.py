"""dsl.Collected beyond one flat loop: artifacts and parameters gathered from nested loops (by
a task inside the outer loop and by one after both), from a task inside a condition inside the
loop, a gathered list passed into a condition, and one returned as the pipeline's output."""
import sys
from typing import List

from kfp import compiler, dsl
from kfp.dsl import Input, Model, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def train(seed: int, lr: float, model: Output[Model]) -> float:
    return 0.0


@dsl.component(base_image=IMAGE)
def pick_best(models: Input[List[Model]]) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def add(nums: List[float]) -> float:
    return 0.0


@dsl.component(base_image=IMAGE)
def add_all(nums: List[List[float]]) -> float:
    return 0.0


@dsl.pipeline(name="collected-nested")
def collected_nested(flag: str = "x") -> List[List[float]]:
    with dsl.ParallelFor([1, 2]) as seed:
        with dsl.ParallelFor([0.1, 0.2]) as lr:
            trained = train(seed=seed, lr=lr)
        pick_best(models=dsl.Collected(trained.outputs["model"]))
    pick_best(models=dsl.Collected(trained.outputs["model"]))
    add_all(nums=dsl.Collected(trained.outputs["Output"]))
    with dsl.ParallelFor([3, 4]) as seed2:
        with dsl.If(flag == "x"):
            guarded = train(seed=seed2, lr=0.5)
    pick_best(models=dsl.Collected(guarded.outputs["model"]))
    with dsl.If(flag == "y"):
        add(nums=dsl.Collected(guarded.outputs["Output"]))
    return dsl.Collected(trained.outputs["Output"])


if __name__ == "__main__":
    compiler.Compiler().compile(collected_nested, sys.argv[1])
