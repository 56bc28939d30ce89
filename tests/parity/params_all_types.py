"""Every parameter type, with and without defaults, plus optional inputs."""
import sys
from typing import Optional

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def consume_params(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    items: list,
    config: dict,
    text_default: str = "hello",
    count_default: int = 3,
    ratio_default: float = 0.25,
    flag_default: bool = True,
    items_default: list = [1, 2, 3],
    config_default: dict = {"depth": 4, "name": "tree"},
    maybe_text: Optional[str] = None,
    maybe_count: Optional[int] = None,
) -> str:
    return text


@dsl.pipeline(name="params-all-types")
def params_all_types(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    items: list,
    config: dict,
    text_default: str = "world",
    count_default: int = 7,
    ratio_default: float = 1.5,
    flag_default: bool = False,
    items_default: list = ["a", "b"],
    config_default: dict = {"k": "v", "n": 2},
    maybe_text: Optional[str] = None,
):
    consume_params(
        text=text,
        count=count,
        ratio=ratio,
        flag=flag,
        items=items,
        config=config,
        text_default=text_default,
        count_default=count_default,
        ratio_default=ratio_default,
        flag_default=flag_default,
        items_default=items_default,
        config_default=config_default,
        maybe_text=maybe_text,
    )
    consume_params(
        text="literal",
        count=42,
        ratio=0.5,
        flag=True,
        items=[1, 2],
        config={"nested": {"x": [1, "two"]}},
        maybe_count=5,
    )


if __name__ == "__main__":
    compiler.Compiler().compile(params_all_types, sys.argv[1])
