"""Env vars, caching off, display names, retries, and pipeline-level metadata."""
import sys

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def step(message: str):
    pass


@dsl.component(base_image=IMAGE)
def configured(message: str):
    pass


@dsl.pipeline(
    name="task-options",
    description="Task options set per task",
    display_name="Task options",
    pipeline_root="gs://bucket/root",
)
def task_options(message: str = "hi"):
    (
        step(message=message)
        .set_env_variable("MODE", "fast")
        .set_env_variable("LEVEL", "3")
        .set_env_variable("MODE", "faster")
        .set_caching_options(False)
        .set_display_name("First step")
        .set_retry(4)
    )
    step(message="plain")
    step(message="patient").set_retry(3, backoff_duration="1m", backoff_factor=1.5, backoff_max_duration="2h")
    (
        configured(message=message)
        .set_env_variable("MODE", "slow")
        .set_env_variable("LEVEL", "1")
        .set_caching_options(False)
        .set_display_name("Configured step")
        .set_retry(2)
    )
    (
        configured(message="override")
        .set_env_variable("MODE", "slow")
        .set_env_variable("LEVEL", "1")
        .set_caching_options(False)
        .set_display_name("Configured step")
        .set_retry(2)
        .set_env_variable("MODE", "quick")
    )


if __name__ == "__main__":
    compiler.Compiler().compile(task_options, sys.argv[1])
