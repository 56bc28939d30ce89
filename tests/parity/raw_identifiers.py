"""Names that are keywords in Rust (`r#type`, `r#match`) but plain names in Python: the IR
must carry the plain names."""
import sys
from typing import NamedTuple

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def keywords(type: str, match: int) -> NamedTuple("Keywords", [("loop", str)]):
    Keywords = NamedTuple("Keywords", [("loop", str)])
    return Keywords(type)


@dsl.component(base_image=IMAGE)
def consume(text: str):
    pass


@dsl.pipeline(name="raw-identifiers")
def raw_identifiers(move: int = 1):
    made = keywords(type="kind", match=move)
    consume(text=made.outputs["loop"])


if __name__ == "__main__":
    compiler.Compiler().compile(raw_identifiers, sys.argv[1])
