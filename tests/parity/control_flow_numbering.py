"""kfp's numbering of generated group names: a lone If, If/Else, a loop over a pipeline
parameter (no item number), a loop over a literal list (item number, then loop number), and a
nested loop. Nothing sits inside an ExitHandler or If that kfp itself would compile to invalid
IR (see control_flow.py)."""
import sys

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def flip(seed: int) -> str:
    return ""


@dsl.component(base_image=IMAGE)
def say(message: str) -> str:
    return message


@dsl.pipeline(name="control-flow-numbering")
def control_flow_numbering(words: list = ["a", "b"]):
    coin = flip(seed=1)
    with dsl.If(coin.output == "heads"):
        say(message="lone if")
    with dsl.If(coin.output == "tails"):
        say(message="then")
    with dsl.Else():
        say(message="else")
    with dsl.ParallelFor(words) as word:
        say(message=word)
    with dsl.ParallelFor(["x", "y"]) as letter:
        with dsl.ParallelFor(words) as inner:
            say(message=letter)
            say(message=inner)


if __name__ == "__main__":
    compiler.Compiler().compile(control_flow_numbering, sys.argv[1])
