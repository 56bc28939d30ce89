"""The same component used three times: task keys add, add-2, add-3."""
import sys

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def add(a: float, b: float) -> float:
    return a + b


@dsl.pipeline(name="reuse")
def reuse(start: float = 1.0):
    first = add(a=start, b=2.0)
    second = add(a=first.output, b=3.0)
    add(a=second.output, b=first.output)


if __name__ == "__main__":
    compiler.Compiler().compile(reuse, sys.argv[1])
