"""kfp's version of examples/src/minimal.rs."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Markdown, Output

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def say_hello(name: str) -> str:
    return name


@dsl.component(base_image=IMAGE)
def write_report(message: str, report: Output[Markdown]):
    pass


@dsl.pipeline(name="hello-pipeline")
def hello_pipeline(recipient: str = "world"):
    hello = say_hello(name=recipient)
    write_report(message=hello.output)


if __name__ == "__main__":
    compiler.Compiler().compile(hello_pipeline, sys.argv[1])
