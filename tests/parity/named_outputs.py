"""Named outputs (NamedTuple) read by name downstream."""
import sys
from typing import NamedTuple

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def summarize(values: list) -> NamedTuple("Summary", [("mean", float), ("count", int), ("label", str), ("ok", bool)]):
    Summary = NamedTuple("Summary", [("mean", float), ("count", int), ("label", str), ("ok", bool)])
    return Summary(0.0, 0, "", True)


@dsl.component(base_image=IMAGE)
def check(mean: float, count: int, label: str):
    pass


@dsl.pipeline(name="named-outputs")
def named_outputs(values: list = [1.0, 2.0]):
    summary = summarize(values=values)
    check(mean=summary.outputs["mean"], count=summary.outputs["count"], label=summary.outputs["label"])


if __name__ == "__main__":
    compiler.Compiler().compile(named_outputs, sys.argv[1])
