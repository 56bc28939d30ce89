"""kfp's naming when component names collide after sanitizing (`step` used again after
`step_2` took `step-2`), three levels of nested pipelines with one pipeline used at two levels,
struct parameters and outputs, and an optional pipeline artifact passed on."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def step(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE)
def step_2(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE)
def configure(config: dict = {"depth": 4, "name": "tree"}) -> dict:
    return config


@dsl.component(base_image=IMAGE)
def inspect(config: dict, data: Input[Dataset] = None) -> bool:
    return True


@dsl.pipeline(name="level-two")
def level_two(x: int):
    step(x=x)
    step(x=x)


@dsl.pipeline(name="level-one")
def level_one(x: int):
    level_two(x=x)
    step_2(x=x)


@dsl.pipeline(name="naming-and-nesting")
def naming_and_nesting(x: int = 1, data: Input[Dataset] = None):
    step(x=x)
    step(x=x)
    step_2(x=x)
    step_2(x=x)
    step(x=x)
    level_one(x=x)
    level_two(x=x)
    configured = configure()
    inspect(config=configured.output, data=data)


if __name__ == "__main__":
    compiler.Compiler().compile(naming_and_nesting, sys.argv[1])
