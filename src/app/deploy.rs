//! `compile --pytorchjob DIR` and `compile --dockerfile PATH`: what a cluster needs besides the
//! IR, the PyTorchJob manifests of distributed components and the image's Dockerfile.

use kfp_compiler::compile::{LaunchSpec, PipelineDef, sanitize_k8s_name};
use kfp_compiler::dsl::{ContainerDef, Graph, Implementation, TaskNode};
use kfp_k8s::dockerfile::{ImagePlan, render};
use kfp_k8s::pytorchjob::{JobTarget, build, job_name, to_yaml};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Default)]
pub struct DeployArgs {
    /// Write the PyTorchJob manifest of each distributed component task to DIR (as its
    /// pipeline step would create it, with the executor input left as `{{$}}`), instead of IR.
    #[arg(long, value_name = "DIR")]
    pub pytorchjob: Option<PathBuf>,
    /// Write the Dockerfile that builds this binary into the image(s) the IR names, instead of IR.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,
    /// Cargo package of this binary, for --dockerfile (default: $CARGO_PKG_NAME, set by `cargo run`).
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// Binary target, for --dockerfile (default: this executable's name).
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
}

impl DeployArgs {
    pub fn requested(&self) -> bool {
        self.pytorchjob.is_some() || self.dockerfile.is_some()
    }
}

/// Writes what `args` asks for from the selected pipelines; returns the lines to print.
pub fn write(pipelines: &[&PipelineDef], args: &DeployArgs) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    if let Some(dir) = &args.pytorchjob {
        lines.extend(write_pytorchjobs(pipelines, dir)?);
    }
    if let Some(path) = &args.dockerfile {
        let text = render(&image_plan(pipelines, args)?).map_err(|e| anyhow::anyhow!("error: --dockerfile: {e}"))?;
        super::compile::write_atomic(path, text.as_bytes())?;
        lines.push(path.display().to_string());
    }
    Ok(lines)
}

/// One `<pipeline>-<task>.yaml` per distributed component task.
fn write_pytorchjobs(pipelines: &[&PipelineDef], dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for pipeline in pipelines {
        let pipeline_name = sanitize_k8s_name(pipeline.name);
        for (index, task, container) in container_tasks(&pipeline.graph) {
            let Some(spec) = LaunchSpec::for_task(container, &task.overrides) else { continue };
            let component = task.component.name;
            // The pipeline step reads these from its executor input; a manifest has none.
            if let Some(field) = task.overrides.resource_channels.keys().next() {
                anyhow::bail!(
                    "error: --pytorchjob: task {index} (`{component}`) of `{pipeline_name}` reads its {} from a parameter \
                     when it runs, which a manifest written now cannot hold: set it as a literal, or let the pipeline step \
                     launch the job",
                    field.setting()
                );
            }
            let target = JobTarget {
                name: job_name(component, &format!("{pipeline_name}/{index}")),
                namespace: None,
                component: component.to_owned(),
                binary: container.binary.to_owned(),
                executor_input: "{{$}}".to_owned(),
                backoff_limit: 0,
                active_deadline_seconds: None,
                owner_pod: None,
            };
            let yaml = to_yaml(&build(&spec, &target))?;
            let file = dir.join(format!("{pipeline_name}-{index}-{}.yaml", sanitize_k8s_name(component)));
            files.push((file, yaml));
        }
    }
    if files.is_empty() {
        anyhow::bail!(
            "error: --pytorchjob: no selected pipeline has a distributed component (#[component(distributed(nodes = N, nproc_per_node = M))])"
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("error: cannot create {}: {e}", dir.display()))?;
    let mut lines = Vec::new();
    for (path, yaml) in files {
        super::compile::write_atomic(&path, yaml.as_bytes())?;
        lines.push(path.display().to_string());
    }
    Ok(lines)
}

/// The images and binary paths every container component names, and the launcher feature when
/// one is distributed.
pub fn image_plan(pipelines: &[&PipelineDef], args: &DeployArgs) -> anyhow::Result<ImagePlan> {
    let mut images = BTreeSet::new();
    let mut binary_paths = BTreeSet::new();
    let mut distributed = false;
    for pipeline in pipelines {
        for (_, _, container) in container_tasks(&pipeline.graph) {
            images.insert(container.image.to_owned());
            binary_paths.insert(container.binary.to_owned());
            distributed |= container.distributed.is_some();
        }
    }
    let package = args.package.clone().or_else(|| std::env::var("CARGO_PKG_NAME").ok()).ok_or_else(|| {
        anyhow::anyhow!("error: --dockerfile: name the Cargo package with --package (or run through `cargo run`)")
    })?;
    let bin = match &args.bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .ok_or_else(|| anyhow::anyhow!("error: --dockerfile: name the binary target with --bin"))?,
    };
    Ok(ImagePlan {
        package,
        bin,
        // `kfp/launcher` works from the user's package because kfp is its direct dependency.
        features: if distributed { vec!["kfp/launcher".to_owned()] } else { Vec::new() },
        images: images.into_iter().collect(),
        binary_paths: binary_paths.into_iter().collect(),
    })
}

/// Every container task of `graph` and its nested pipelines, depth first, numbered in that order.
fn container_tasks(graph: &Graph) -> Vec<(usize, &TaskNode, &ContainerDef)> {
    fn walk<'g>(graph: &'g Graph, out: &mut Vec<(usize, &'g TaskNode, &'g ContainerDef)>) {
        for task in &graph.tasks {
            match &task.component.implementation {
                Implementation::Container(container) => out.push((out.len(), task, container)),
                Implementation::Graph(inner) => walk(inner, out),
                // An importer runs no user binary.
                Implementation::Importer(_) | Implementation::BackendOp(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(graph, &mut out);
    out
}

/// The definitions of `pipelines` whose names are selected (all when `selected` is empty).
pub fn selected<'p>(definitions: &'p [PipelineDef], selected: &[String]) -> Vec<&'p PipelineDef> {
    definitions
        .iter()
        .filter(|d| selected.is_empty() || selected.iter().any(|w| w == d.name || *w == sanitize_k8s_name(d.name)))
        .collect()
}
