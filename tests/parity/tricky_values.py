"""YAML-awkward strings in defaults and constants, an optional pipeline artifact input, a
pipeline with an artifact input used twice as a task (with task options), and list and dict
outputs."""
import sys
from typing import Optional

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output

IMAGE = "python:3.11"
AWKWARD_STRINGS = [
    "on", "off", "no", "y", "0x1F", "1e3", "-", "'q'", '"dq"', "{a}", "[b]", "*ref", "&anc", "!tag", "%pct",
    "@at", "`bt`", "ünï", "  spaced  ", "0o17", ".inf", "NaN", "True", "line1\nline2",
]


@dsl.component(base_image=IMAGE)
def echo(text: str, n: Optional[int] = 3) -> str:
    return text


@dsl.component(base_image=IMAGE)
def make(data: Output[Dataset]) -> list:
    return []


@dsl.component(base_image=IMAGE)
def use_data(data: Input[Dataset], xs: list) -> dict:
    return {}


@dsl.component(base_image=IMAGE)
def scale(factor: float, count: int):
    pass


@dsl.pipeline(name="inner")
def inner(data: Input[Dataset], label: str = "yes"):
    use_data(data=data, xs=["yes"])


@dsl.pipeline(name="Tricky_Values")
def tricky_values(
    a: str = "yes",
    b: str = "null",
    c: str = "2026-01-01",
    d: str = "",
    e: str = "1.0",
    # Not a newline: kfp 2.17.3 copies defaults into its `# Inputs:` header comment unescaped,
    # so a default with a newline makes its YAML unparseable. Constants below carry one.
    f: str = "a: b",
    g: str = "#x: y",
    h: str = "~",
    tiny: float = 1e-7,
    huge: float = 1e20,
    negative: float = -2.5,
    big: int = 2**40,
    data: Input[Dataset] = None,
):
    for text in AWKWARD_STRINGS:
        echo(text=text)
    for factor in [1e-7, 1.5e300, -0.0, 123456789.125, 5e-324]:
        scale(factor=factor, count=-(2**53))
    made = make()
    inner(data=made.outputs["data"]).set_caching_options(False).set_display_name("Inner once").set_retry(2)
    inner(data=made.outputs["data"], label="no")
    use_data(data=made.outputs["data"], xs=made.outputs["Output"])


if __name__ == "__main__":
    compiler.Compiler().compile(tricky_values, sys.argv[1])
