//! The two ends of a distributed component's step: the pipeline step runs the binary as the
//! PyTorchJob launcher; the job's pods fetch the step's input artifacts from it before the
//! component runs, and the Master pod sends the outputs back when it finished
//! (see `kfp_k8s::relay`).

use kfp_k8s::relay;
use kfp_runtime::executor::protocol::ExecutorInput;
use kfp_runtime::executor::{LOCAL_ROOT_ENV, local_path_for_uri};
use std::path::PathBuf;
use std::process::ExitCode;

/// `--launch-pytorchjob ...`: runs the component as a PyTorchJob and waits for it.
#[cfg(feature = "launcher")]
pub(super) fn launch_pytorchjob(args: &[String]) -> ExitCode {
    match executor_input(args) {
        Ok(input) => kfp_k8s::launcher_main(args, &input_paths(&input), &output_paths(&input)),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "launcher"))]
pub(super) fn launch_pytorchjob(_args: &[String]) -> ExitCode {
    eprintln!(
        "error: this binary was built without kfp's `launcher` feature, so it cannot run a distributed component; \
         build it with `--features kfp/launcher` (the Dockerfile from `compile --dockerfile` does)"
    );
    ExitCode::FAILURE
}

/// The relay address and token in a PyTorchJob pod's node-level process (not in a worker its
/// launcher spawned, which has `LOCAL_RANK`); `None` anywhere else.
fn relay_target() -> Option<(String, String)> {
    let address = std::env::var(relay::ADDRESS_ENV).ok()?;
    let token = std::env::var(relay::TOKEN_ENV).ok()?;
    std::env::var_os("LOCAL_RANK").is_none().then_some((address, token))
}

/// Before the component runs in a PyTorchJob pod: fetches the step's input artifacts, which KFP
/// downloaded into the step's pod only.
pub(super) fn fetch_inputs(args: &[String]) -> Result<(), String> {
    let Some((address, token)) = relay_target() else { return Ok(()) };
    let input = executor_input(args)?;
    let paths = input_paths(&input);
    if paths.is_empty() {
        return Ok(());
    }
    let written = relay::fetch(&address, &token, &paths).map_err(|e| e.to_string())?;
    eprintln!("fetched {} input file(s) from the pipeline step at {address}", written.len());
    Ok(())
}

/// After the component succeeded in a PyTorchJob pod: the Master pod's node-level process
/// (the operator's `PET_NODE_RANK`/`RANK` 0) sends the outputs to the step. Any other process,
/// or one outside such a job, does nothing.
pub(super) fn relay_outputs(args: &[String]) -> ExitCode {
    let Some((address, token)) = relay_target() else { return ExitCode::SUCCESS };
    let node_rank = std::env::var("PET_NODE_RANK").or_else(|_| std::env::var("RANK")).unwrap_or_default();
    if node_rank != "0" {
        return ExitCode::SUCCESS;
    }
    let sent = executor_input(args)
        .and_then(|input| relay::upload(&address, &token, &output_paths(&input)).map_err(|e| e.to_string()));
    match sent {
        Ok(files) => {
            eprintln!("sent {files} output file(s) to the pipeline step at {address}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn executor_input(args: &[String]) -> Result<ExecutorInput, String> {
    let position = args.iter().position(|a| a == "--executor-input" || a == "--executor_input");
    let raw = match position {
        Some(i) => args.get(i + 1).cloned(),
        None => args.iter().find_map(|a| a.strip_prefix("--executor-input=").map(str::to_owned)),
    }
    .ok_or("--executor-input has no value")?;
    serde_json::from_str(&raw).map_err(|e| format!("--executor-input is not an ExecutorInput: {e}"))
}

/// Where the step's input artifacts live in a pod.
pub(super) fn input_paths(input: &ExecutorInput) -> Vec<PathBuf> {
    let root = std::env::var_os(LOCAL_ROOT_ENV).map(PathBuf::from);
    let artifacts = input.inputs.artifacts.values().flat_map(|list| &list.artifacts);
    artifacts.filter_map(|artifact| local_path_for_uri(&artifact.uri, root.as_deref())).collect()
}

/// Where the step's outputs live in a pod: the executor output file, each output parameter's
/// file, and each output artifact's local path.
pub(super) fn output_paths(input: &ExecutorInput) -> Vec<PathBuf> {
    let root = std::env::var_os(LOCAL_ROOT_ENV).map(PathBuf::from);
    let outputs = &input.outputs;
    let files = std::iter::once(outputs.output_file.clone())
        .chain(outputs.parameters.values().map(|p| p.output_file.clone()))
        .filter(|f| !f.is_empty())
        .map(PathBuf::from);
    let artifacts = outputs
        .artifacts
        .values()
        .flat_map(|list| &list.artifacts)
        .filter_map(|artifact| local_path_for_uri(&artifact.uri, root.as_deref()));
    files.chain(artifacts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_paths_cover_the_output_file_parameters_and_artifacts() {
        let input: ExecutorInput = serde_json::from_value(serde_json::json!({
            "inputs": {"artifacts": {"data": {"artifacts": [{"uri": "gs://bucket/data.csv"}]}}},
            "outputs": {
                "outputFile": "/tmp/kfp_outputs/output_metadata.json",
                "parameters": {"Output": {"outputFile": "/tmp/kfp/outputs/Output"}},
                "artifacts": {"model": {"artifacts": [{"name": "model", "uri": "minio://mlpipeline/v2/artifacts/p/r/train/model"}]}}
            }
        }))
        .unwrap();
        assert_eq!(input_paths(&input), [PathBuf::from("/gcs/bucket/data.csv")]);
        let paths = output_paths(&input);
        assert_eq!(
            paths,
            [
                PathBuf::from("/tmp/kfp_outputs/output_metadata.json"),
                PathBuf::from("/tmp/kfp/outputs/Output"),
                PathBuf::from("/minio/mlpipeline/v2/artifacts/p/r/train/model"),
            ]
        );
    }
}
