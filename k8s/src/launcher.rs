//! Runs a PyTorchJob to its end, as kfp's pytorch-launcher component does: applies the job
//! (server-side apply with strict field validation, so a restarted launcher pod finds the job it
//! created), polls its status until a `Succeeded` or `Failed` condition, and deletes it when the
//! timeout passes first.

use crate::pytorchjob::{API_VERSION, KIND, PyTorchJob};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// The field manager kfp-rs applies jobs as.
pub const FIELD_MANAGER: &str = "kfp-rs";

#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// The longest wait between two reads of the job's status; the first reads come sooner
    /// (100 ms, doubling), so short jobs finish promptly.
    pub poll_interval: Duration,
    /// How long the job may take from submission; it is deleted after that.
    pub timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions { poll_interval: Duration::from_secs(10), timeout: Duration::from_secs(24 * 3600) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot set up the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("the job has no namespace: set one in the kubeconfig, or run in a pod with a service account")]
    NoNamespace,
    #[error("the API server refused PyTorchJob {name}: {source}")]
    Submit { name: String, source: kube::Error },
    #[error("cannot read the status of PyTorchJob {name}: {source}")]
    Status { name: String, source: kube::Error },
    #[error("PyTorchJob {name} failed: {reason}: {message}")]
    Failed { name: String, reason: String, message: String },
    #[error("this step was stopped ({signal}); PyTorchJob {name} was deleted")]
    Interrupted { name: String, signal: &'static str },
    #[error("PyTorchJob {name} did not finish within {seconds} s (last condition: {last}); it was deleted")]
    TimedOut { name: String, seconds: u64, last: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// How the job ended, with the conditions it went through (`Created`, `Running`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub name: String,
    pub namespace: String,
    pub conditions_seen: Vec<String>,
}

/// Applies `job` in its namespace (or the config's default) and waits for it; `progress` gets a
/// line for each new condition. Blocking: it runs its own single-threaded async runtime.
pub fn run_job(
    config: kube::Config,
    job: &PyTorchJob,
    options: &WaitOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<JobOutcome, LaunchError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(LaunchError::Runtime)?;
    runtime.block_on(run_job_async(config, job, options, progress))
}

async fn run_job_async(
    config: kube::Config,
    job: &PyTorchJob,
    options: &WaitOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<JobOutcome, LaunchError> {
    let namespace = match &job.metadata.namespace {
        Some(ns) => ns.clone(),
        None if !config.default_namespace.is_empty() => config.default_namespace.clone(),
        None => return Err(LaunchError::NoNamespace),
    };
    let name = job.metadata.name.clone().unwrap_or_default();
    let client = kube::Client::try_from(config).map_err(LaunchError::Client)?;
    let resource = ApiResource {
        group: "kubeflow.org".into(),
        version: "v1".into(),
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        plural: "pytorchjobs".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
    let mut job = job.clone();
    job.metadata.namespace = Some(namespace.clone());
    // Listening before the job exists: a step stopped at any later point deletes its job.
    let mut terminate = signal(SignalKind::terminate()).map_err(LaunchError::Runtime)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(LaunchError::Runtime)?;
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).validation_strict(), &Patch::Apply(&job))
        .await
        .map_err(|source| LaunchError::Submit { name: name.clone(), source })?;
    progress(&format!("applied PyTorchJob {namespace}/{name}"));

    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    let mut pause = Duration::from_millis(100);
    loop {
        let current = api.get(&name).await.map_err(|source| LaunchError::Status { name: name.clone(), source })?;
        let conditions = Conditions::of(&current);
        for condition in &conditions.true_ {
            if !seen.contains(&condition.kind) {
                seen.push(condition.kind.clone());
                progress(&format!("PyTorchJob {name}: {} ({})", condition.kind, condition.message));
            }
        }
        if conditions.find("Succeeded").is_some() {
            return Ok(JobOutcome { name, namespace, conditions_seen: seen });
        }
        if let Some(failed) = conditions.find("Failed") {
            return Err(LaunchError::Failed { name, reason: failed.reason.clone(), message: failed.message.clone() });
        }
        if started.elapsed() >= options.timeout {
            // Free the GPUs; the deletion's own failure would only hide the timeout.
            let _ = api.delete(&name, &DeleteParams::background()).await;
            let last = seen.last().cloned().unwrap_or_else(|| "none".into());
            return Err(LaunchError::TimedOut { name, seconds: options.timeout.as_secs(), last });
        }
        pause = (pause * 2).min(options.poll_interval);
        let stopped = tokio::select! {
            _ = tokio::time::sleep(pause.min(options.timeout.saturating_sub(started.elapsed()))) => None,
            _ = terminate.recv() => Some("SIGTERM"),
            _ = interrupt.recv() => Some("SIGINT"),
        };
        if let Some(signal) = stopped {
            // The run was stopped: free the GPUs now rather than at the job's deadline.
            let _ = api.delete(&name, &DeleteParams::background()).await;
            return Err(LaunchError::Interrupted { name, signal });
        }
    }
}

#[derive(Debug)]
struct Condition {
    kind: String,
    reason: String,
    message: String,
}

/// The job's conditions whose status is `"True"`, in the order the operator lists them.
struct Conditions {
    true_: Vec<Condition>,
}

impl Conditions {
    fn of(job: &DynamicObject) -> Self {
        let list = job.data.pointer("/status/conditions").and_then(|c| c.as_array()).cloned().unwrap_or_default();
        let text = |c: &serde_json::Value, key: &str| c.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let true_ = list
            .iter()
            .filter(|c| c.get("status").and_then(|s| s.as_str()) == Some("True"))
            .map(|c| Condition { kind: text(c, "type"), reason: text(c, "reason"), message: text(c, "message") })
            .collect();
        Conditions { true_ }
    }

    fn find(&self, kind: &str) -> Option<&Condition> {
        self.true_.iter().find(|c| c.kind == kind)
    }
}
