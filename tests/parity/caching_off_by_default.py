"""Caching off by default (kfp's --disable-execution-caching-by-default; kfp-rs's
`CompileOptions { enable_caching: false }`), with tasks that turn it back on, and a nested
pipeline whose tasks inherit the default."""
import sys

from kfp import compiler, dsl
from kfp.dsl import pipeline_context

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def fetch(url: str) -> str:
    return url


def build():
    """Builds the pipelines as `kfp dsl compile --disable-execution-caching-by-default` would.

    kfp reads the default when a pipeline's decorator builds its tasks, and the flag is
    process-wide, so it is set only around the definitions.
    """
    pipeline_context.Pipeline._execution_caching_default = False
    try:

        @dsl.pipeline(name="fetch-twice")
        def fetch_twice(url: str):
            first = fetch(url=url)
            fetch(url=first.output).set_caching_options(True)

        @dsl.pipeline(name="caching-off-by-default")
        def caching_off_by_default(url: str = "https://example.com"):
            fetch(url=url)
            fetch(url=url).set_caching_options(True)
            fetch_twice(url=url)
            fetch_twice(url=url).set_caching_options(True)

        return caching_off_by_default
    finally:
        pipeline_context.Pipeline._execution_caching_default = True


if __name__ == "__main__":
    compiler.Compiler().compile(build(), sys.argv[1])
