"""A pipeline used as a task inside another pipeline."""
import sys

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def greet(name: str) -> str:
    return name


@dsl.component(base_image=IMAGE)
def shout(text: str):
    pass


@dsl.pipeline(name="inner-pipeline")
def inner_pipeline(name: str, times: int = 2):
    greeted = greet(name=name)
    shout(text=greeted.output)


@dsl.pipeline(name="nested")
def nested(name: str = "kfp"):
    first = greet(name="outer")
    inner = inner_pipeline(name=name)
    inner_pipeline(name=first.output, times=5).after(inner)


if __name__ == "__main__":
    compiler.Compiler().compile(nested, sys.argv[1])
