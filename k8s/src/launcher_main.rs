//! `BINARY --launch-pytorchjob [launch flags] --executor-input JSON --function-to-execute NAME`:
//! the pipeline step of a distributed component.

use crate::launcher::{WaitOptions, run_job};
use crate::pytorchjob::{JobTarget, build, job_name};
use crate::relay::{self, Server};
use kfp_compiler::compile::LaunchSpec;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Overrides the 24 h default of how long the job may run.
pub const TIMEOUT_ENV: &str = "KFP_PYTORCHJOB_TIMEOUT_SECS";

/// Parses the arguments (without the program name), applies the job and waits for it, serving
/// the step's input artifacts (`inputs`, downloaded here by KFP) to the job's pods and taking
/// its outputs (`outputs`, the step's declared output paths) from the Master pod through the
/// [`crate::relay`]; prints progress to stderr and the reason of a failure as one `error:` line.
pub fn launcher_main(args: &[String], inputs: &[PathBuf], outputs: &[PathBuf]) -> ExitCode {
    match launch(args, inputs, outputs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn launch(args: &[String], inputs: &[PathBuf], outputs: &[PathBuf]) -> Result<(), String> {
    let (mut spec, rest) = LaunchSpec::parse_args(args).map_err(|e| e.to_string())?;
    let executor_input = flag_value(&rest, "--executor-input")?;
    let component = flag_value(&rest, "--function-to-execute")?;
    let binary = std::env::current_exe().map_err(|e| format!("cannot find this binary's path: {e}"))?;
    let timeout = match std::env::var(TIMEOUT_ENV) {
        Ok(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{TIMEOUT_ENV}={raw:?} is not a positive number of seconds"))?,
        Err(_) => WaitOptions::default().timeout,
    };
    // KFP gives every executor pod its UID: a restarted pod finds its job, a retry makes a new one.
    let key = std::env::var("KFP_POD_UID").unwrap_or_else(|_| executor_input.clone());
    let target = JobTarget {
        name: job_name(&component, &key),
        namespace: None,
        component,
        binary: binary.display().to_string(),
        executor_input,
        backoff_limit: 0,
        active_deadline_seconds: Some(timeout.as_secs()),
        owner_pod: std::env::var("KFP_POD_NAME").ok().zip(std::env::var("KFP_POD_UID").ok()),
    };
    let relay_server = match inputs.is_empty() && outputs.is_empty() {
        true => None,
        false => {
            let token = relay::new_token().map_err(|e| format!("cannot make a relay token: {e}"))?;
            let server =
                Server::start(SocketAddr::from(([0, 0, 0, 0], 0)), token.clone(), inputs.to_vec(), outputs.to_vec())
                    .map_err(|e| format!("cannot listen for the job's pods: {e}"))?;
            let ip: IpAddr = relay::pod_ip()?.parse().map_err(|e| format!("this pod's IP: {e}"))?;
            let address = SocketAddr::new(ip, server.port()).to_string();
            eprintln!("serving inputs to and taking outputs from the job's pods at {address}");
            spec.env.push((relay::ADDRESS_ENV.to_owned(), address));
            spec.env.push((relay::TOKEN_ENV.to_owned(), token));
            Some(server)
        }
    };
    let job = build(&spec, &target);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let config = runtime
        .block_on(kube::Config::infer())
        .map_err(|e| format!("no Kubernetes configuration (in-cluster service account or KUBECONFIG): {e}"))?;
    drop(runtime);
    let options = WaitOptions { timeout, ..WaitOptions::default() };
    let outcome = run_job(config, &job, &options, &mut |line| eprintln!("{line}"));
    let received = relay_server.map(Server::finish);
    let outcome = outcome.map_err(|e| e.to_string())?;
    eprintln!("PyTorchJob {}/{} succeeded", outcome.namespace, outcome.name);
    match received {
        None => Ok(()),
        Some(_) if outputs.is_empty() => Ok(()),
        Some(Some(files)) => {
            eprintln!("received {} output file(s) from the job", files.len());
            Ok(())
        }
        Some(None) => Err(format!(
            "PyTorchJob {}/{} succeeded, but its Master pod sent no outputs (is the binary built with kfp-rs's relay, \
             and may the job's pods reach this pod?)",
            outcome.namespace, outcome.name
        )),
    }
}

/// The value of `--flag VALUE` or `--flag=VALUE`.
fn flag_value(args: &[String], flag: &str) -> Result<String, String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == flag {
            return iter.next().cloned().ok_or_else(|| format!("{flag} has no value"));
        }
        if let Some(value) = arg.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
            return Ok(value.to_owned());
        }
    }
    Err(format!("{flag} is missing"))
}
