//! `compile [--out DIR] [--pipeline NAME]... [--list] [--check] [--disable-caching]`, or with
//! `--pytorchjob DIR` / `--dockerfile PATH [--package NAME] [--bin NAME]` (see `deploy`).

use super::deploy::DeployArgs;
use crate::Pipeline;
use clap::Parser;
use kfp_compiler::compile::{CompileOptions, compile, sanitize_k8s_name, to_yaml};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The command line: the IR options, and the deployment outputs that replace the IR.
#[derive(Parser, Debug)]
#[command(about = "Compile this binary's pipelines to Kubeflow Pipelines IR YAML")]
struct Cli {
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    deploy: DeployArgs,
}

#[derive(Parser, Debug)]
pub struct CompileArgs {
    /// Folder the YAML files are written to.
    #[arg(long, default_value = "compiled")]
    pub out: PathBuf,
    /// Compile only these pipelines (by name); default all.
    #[arg(long = "pipeline", value_name = "NAME")]
    pub pipelines: Vec<String>,
    /// List the pipelines and exit.
    #[arg(long)]
    pub list: bool,
    /// Compile and validate, write nothing.
    #[arg(long)]
    pub check: bool,
    /// Turn execution caching off for tasks that do not choose (kfp's
    /// --disable-execution-caching-by-default).
    #[arg(long)]
    pub disable_caching: bool,
}

pub(super) fn main(
    pipelines: &[&dyn Pipeline],
    studies: &[super::KatibStudy],
    argv: impl IntoIterator<Item = String>,
) -> ExitCode {
    let Cli { compile: args, deploy } = Cli::parse_from(argv);
    let result = match deploy.requested() {
        true => compile_deploy(pipelines, &args, &deploy),
        // The Katib Experiments go beside the IR they belong to.
        false => compile_all(pipelines, &args).and_then(|mut lines| {
            if !args.check && !args.list {
                lines.extend(super::katib::write(studies, &args.out)?);
            }
            Ok(lines)
        }),
    };
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// `--pytorchjob`/`--dockerfile`: the IR must compile, then only those files are written.
pub fn compile_deploy(
    pipelines: &[&dyn Pipeline],
    args: &CompileArgs,
    deploy: &DeployArgs,
) -> anyhow::Result<Vec<String>> {
    let check_only = CompileArgs {
        out: args.out.clone(),
        pipelines: args.pipelines.clone(),
        list: false,
        check: true,
        disable_caching: args.disable_caching,
    };
    compile_all(pipelines, &check_only)?;
    let definitions: Vec<_> = pipelines.iter().map(|p| p.definition()).collect();
    super::deploy::write(&super::deploy::selected(&definitions, &args.pipelines), deploy)
}

/// Compiles the selected pipelines; all of them compile before any file is written, and each
/// file is written to a temporary name and renamed. Returns the lines to print.
pub fn compile_all(pipelines: &[&dyn Pipeline], args: &CompileArgs) -> anyhow::Result<Vec<String>> {
    let definitions: Vec<_> = pipelines.iter().map(|p| p.definition()).collect();
    // The container entrypoint dispatches on component names: refuse to compile an ambiguity.
    super::Registry::from_pipelines(pipelines).map_err(|e| anyhow::anyhow!("error: {e}"))?;
    if args.list {
        return Ok(definitions.iter().map(|d| sanitize_k8s_name(d.name)).collect());
    }
    for wanted in &args.pipelines {
        if !definitions.iter().any(|d| d.name == wanted || sanitize_k8s_name(d.name) == *wanted) {
            let known: Vec<String> = definitions.iter().map(|d| sanitize_k8s_name(d.name)).collect();
            anyhow::bail!("error: no pipeline named {wanted:?}; this binary has: {}", known.join(", "));
        }
    }
    let options = CompileOptions { enable_caching: !args.disable_caching };
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    for definition in &definitions {
        let file_name = sanitize_k8s_name(definition.name);
        if !args.pipelines.is_empty()
            && !args.pipelines.iter().any(|w| w == definition.name || *w == file_name)
        {
            continue;
        }
        match compile(definition, &options) {
            Ok(spec) => outputs.push((args.out.join(format!("{file_name}.yaml")), to_yaml(&spec)?)),
            Err(e) => errors.push(format!("error: {e}")),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("\n"));
    }
    if args.check {
        return Ok(outputs.iter().map(|(path, _)| format!("ok {}", path.display())).collect());
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::anyhow!("error: cannot create {}: {e}", args.out.display()))?;
    let mut lines = Vec::new();
    for (path, yaml) in outputs {
        write_atomic(&path, yaml.as_bytes())?;
        lines.push(path.display().to_string());
    }
    Ok(lines)
}

pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    kfp_runtime::executor::write_atomic(path, bytes)
        .map_err(|e| anyhow::anyhow!("error: cannot write {}: {e}", path.display()))
}
