#![allow(unused_variables)]

use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn crunch(size: i64) -> Result<()> {
    Ok(())
}

/// Literal limits on the component: a task replaces the CPU one with a parameter.
#[component(image = "python:3.11", cpu_limit = "8", memory_limit = "32Gi")]
pub fn crunch_heavy(size: i64) -> Result<()> {
    Ok(())
}

#[component(image = "python:3.11")]
pub fn echo(text: String) -> Result<()> {
    Ok(())
}

#[component(image = "python:3.11")]
pub fn pick_cpu() -> String {
    "2".into()
}

#[component(image = "python:3.11")]
pub fn pick_gpus() -> i64 {
    1
}

#[pipeline(name = "resources-from-params")]
pub fn resources_from_params(
    #[default("4")] cpu: String,
    #[default("8Gi")] memory: String,
    #[default("nvidia.com/gpu")] gpu_type: String,
    #[default(2)] gpus: i64,
    #[default("1")] gpus_text: String,
    #[default(vec!["1".to_string(), "2".to_string()])] cpus: Vec<String>,
) {
    crunch(1)
        .set_cpu_limit(cpu)
        .set_cpu_request(cpu)
        .set_memory_limit(memory)
        .set_memory_request(memory)
        .set_accelerator_type(gpu_type)
        .set_accelerator_limit(gpus);
    // The same parameter as a regular input and as a resource.
    echo(cpu).set_cpu_limit(cpu);
    // Accelerator settings mixing literals and channels; a string count.
    crunch(2).set_accelerator_type(gpu_type);
    crunch(3).set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(gpus_text);
    crunch(4).set_accelerator_type(gpu_type).set_accelerator_limit(4);
    // From upstream outputs, a string and an integer.
    let picked_cpu = pick_cpu();
    let picked_gpus = pick_gpus();
    crunch(5)
        .set_cpu_limit(picked_cpu.outputs.output)
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(picked_gpus.outputs.output);
    crunch_heavy(6).set_cpu_limit(cpu);
    // The last setting wins, literal after channel and channel after literal.
    crunch(7).set_cpu_limit(cpu).set_cpu_limit("2").set_memory_limit("1Gi").set_memory_limit(memory);
    // A loop item, from a literal list and from a list parameter.
    ParallelFor(vec!["1".to_string(), "2".to_string()], |item| {
        crunch(8).set_cpu_limit(item);
    });
    ParallelFor(cpus, |each| {
        crunch(9).set_cpu_request(each);
    });
}
