"""dsl.OneOf: an artifact and a parameter OneOf of one If/Else (numbered oneof-1 and oneof-2 in
that group), consumed at top level and inside a later condition, the artifact one also returned
as the pipeline output; a parameter OneOf of an If/Elif/Else whose branches name their outputs
differently (`Output`, a named output `loud`), also used in a condition.

Not here: a ParallelFor over a OneOf list, for which kfp 2.17.3 writes invalid IR (the loop reads
an output the condition-branches DAG never declares); kfp-rs declares it."""
import sys
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Input, Model, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def flip(seed: int) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def say(message: str) -> str:
    return message


@dsl.component(base_image=IMAGE)
def shout(message: str) -> NamedTuple("Outputs", loud=str, length=int):
    return (message, 0)


@dsl.component(base_image=IMAGE)
def train(tag: str, model: Output[Model]) -> str:
    return tag


@dsl.component(base_image=IMAGE)
def deploy(model: Input[Model], note: str) -> str:
    return note


@dsl.pipeline(name="oneof")
def oneof(seed: int = 1, audit: bool = False) -> Model:
    coin = flip(seed=seed)
    with dsl.If(coin.output == "heads"):
        big = train(tag="big")
    with dsl.Else():
        small = train(tag="small")
    model = dsl.OneOf(big.outputs["model"], small.outputs["model"])
    tag = dsl.OneOf(big.outputs["Output"], small.outputs["Output"])
    deploy(model=model, note=tag)
    with dsl.If(audit == True):
        deploy(model=model, note="audit")
    with dsl.If(coin.output == "heads"):
        heads = say(message="heads")
    with dsl.Elif(coin.output == "tails"):
        tails = shout(message="tails")
    with dsl.Else():
        edge = say(message="edge")
    said = dsl.OneOf(heads.output, tails.outputs["loud"], edge.output)
    say(message=said)
    with dsl.If(said == "edge"):
        say(message="on its edge")
    return model


if __name__ == "__main__":
    compiler.Compiler().compile(oneof, sys.argv[1])
