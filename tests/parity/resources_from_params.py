"""Resources read at run time: CPU, memory and accelerators from pipeline parameters (str and
int), from upstream outputs and from ParallelFor items (kfp's `set_cpu_limit(channel)` and
friends), mixed with literals."""
import sys
from typing import List

from kfp import compiler, dsl

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def crunch(size: int):
    pass


@dsl.component(base_image=IMAGE)
def crunch_heavy(size: int):
    pass


@dsl.component(base_image=IMAGE)
def echo(text: str):
    pass


@dsl.component(base_image=IMAGE)
def pick_cpu() -> str:
    return "2"


@dsl.component(base_image=IMAGE)
def pick_gpus() -> int:
    return 1


@dsl.pipeline(name="resources-from-params")
def resources_from_params(
    cpu: str = "4",
    memory: str = "8Gi",
    gpu_type: str = "nvidia.com/gpu",
    gpus: int = 2,
    gpus_text: str = "1",
    cpus: List[str] = ["1", "2"],
):
    (
        crunch(size=1)
        .set_cpu_limit(cpu)
        .set_cpu_request(cpu)
        .set_memory_limit(memory)
        .set_memory_request(memory)
        .set_accelerator_type(gpu_type)
        .set_accelerator_limit(gpus)
    )
    # The same parameter as a regular input and as a resource.
    echo(text=cpu).set_cpu_limit(cpu)
    # Accelerator settings mixing literals and channels; a str count.
    crunch(size=2).set_accelerator_type(gpu_type)
    crunch(size=3).set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(gpus_text)
    crunch(size=4).set_accelerator_type(gpu_type).set_accelerator_limit(4)
    # From upstream outputs, a str and an int.
    picked_cpu = pick_cpu()
    picked_gpus = pick_gpus()
    (
        crunch(size=5)
        .set_cpu_limit(picked_cpu.output)
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(picked_gpus.output)
    )
    # kfp-rs declares cpu_limit="8" and memory_limit="32Gi" on `crunch_heavy`: the channel
    # replaces the first, the second stays.
    crunch_heavy(size=6).set_cpu_limit(cpu).set_memory_limit("32Gi")
    # The last setting wins, literal after channel and channel after literal.
    crunch(size=7).set_cpu_limit(cpu).set_cpu_limit("2").set_memory_limit("1Gi").set_memory_limit(memory)
    # A loop item, from a literal list and from a list parameter.
    with dsl.ParallelFor(["1", "2"]) as item:
        crunch(size=8).set_cpu_limit(item)
    with dsl.ParallelFor(cpus) as each:
        crunch(size=9).set_cpu_request(each)


if __name__ == "__main__":
    compiler.Compiler().compile(resources_from_params, sys.argv[1])
