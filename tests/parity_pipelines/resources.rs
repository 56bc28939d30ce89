#![allow(unused_variables)]

use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn crunch(size: i64) -> Result<()> {
    Ok(())
}

/// The resources of the first `crunch` task, declared on the component instead.
#[component(
    image = "python:3.11",
    cpu_limit = "8",
    cpu_request = "500m",
    memory_limit = "32Gi",
    memory_request = "512M",
    accelerator = "nvidia.com/gpu",
    accelerator_limit = 2
)]
pub fn crunch_heavy(size: i64) -> Result<()> {
    Ok(())
}

#[pipeline(name = "resources")]
pub fn resources() {
    crunch(1)
        .set_cpu_limit("8")
        .set_cpu_request("500m")
        .set_memory_limit("32Gi")
        .set_memory_request("512M")
        .set_accelerator_type("nvidia.com/gpu")
        .set_accelerator_limit(2);
    crunch(2).set_accelerator_type("nvidia.com/gpu");
    crunch(3).set_cpu_limit("1.5").set_memory_limit("2G");
    crunch_heavy(4);
    crunch_heavy(5).set_cpu_limit("16").set_accelerator_limit(4);
}
