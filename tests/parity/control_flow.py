"""kfp's version of examples/src/control_flow.rs: If/Elif/Else, ParallelFor with parallelism,
Collected fan-in, a loop over dicts, and an exit handler with a final-status task."""
import sys
from typing import List

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def flip_coin(seed: int = 7) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def pick_number(value: int = 3) -> int:
    return value


@dsl.component(base_image=IMAGE)
def echo(message: str) -> str:
    return message


@dsl.component(base_image=IMAGE)
def join_messages(messages: List[str]) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def report_status(status: dsl.PipelineTaskFinalStatus) -> str:
    return ""


@dsl.pipeline(name="control-flow")
def control_flow(words: list = ["a", "b"], threshold: int = 2):
    cleanup = report_status()
    with dsl.ExitHandler(cleanup):
        coin = flip_coin()
        number = pick_number()
        with dsl.If(coin.output == "heads"):
            echo(message=coin.output)
        with dsl.Elif(number.output > threshold):
            echo(message="big")
        with dsl.Else():
            echo(message="tails")
        with dsl.ParallelFor(words, parallelism=2) as word:
            echoed = echo(message=word)
        join_messages(messages=dsl.Collected(echoed.output))
        with dsl.ParallelFor([{"label": "x", "size": 1}]) as item:
            echo(message=item.label)


if __name__ == "__main__":
    compiler.Compiler().compile(control_flow, sys.argv[1])
