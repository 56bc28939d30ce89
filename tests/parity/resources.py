"""Static resources: CPU and memory limits and requests, accelerator type and count."""
import sys

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def crunch(size: int):
    pass


@dsl.component(base_image=IMAGE)
def crunch_heavy(size: int):
    pass


def heavy(task, cpu_limit, accelerators):
    """What kfp-rs declares on the `crunch_heavy` component, set per task as kfp must."""
    return (
        task.set_cpu_limit(cpu_limit)
        .set_cpu_request("500m")
        .set_memory_limit("32Gi")
        .set_memory_request("512M")
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(accelerators)
    )


@dsl.pipeline(name="resources")
def resources():
    (
        crunch(size=1)
        .set_cpu_limit("8")
        .set_cpu_request("500m")
        .set_memory_limit("32Gi")
        .set_memory_request("512M")
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(2)
    )
    crunch(size=2).set_accelerator_type("nvidia.com/gpu")
    crunch(size=3).set_cpu_limit("1.5").set_memory_limit("2G")
    heavy(crunch_heavy(size=4), "8", 2)
    heavy(crunch_heavy(size=5), "16", 4)


if __name__ == "__main__":
    compiler.Compiler().compile(resources, sys.argv[1])
