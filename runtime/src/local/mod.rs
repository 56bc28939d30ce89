//! The local runner: executes a compiled pipeline (the IR YAML that is uploaded) on this
//! machine, each container task as a subprocess of its executor command, as `kfp local run`.
//!
//! - **Inputs.** Pipeline arguments are typed by the root's input definitions
//!   ([`parse_arguments`]); each task's inputs are resolved from the IR's wiring
//!   (`runtimeValue` constants, `componentInputParameter`, `taskOutputParameter`,
//!   `componentInputArtifact`, `taskOutputArtifact`), checked and completed with defaults as
//!   the KFP driver and launcher do. Nested DAG components (a pipeline used as a task) run
//!   recursively; their outputs come from the DAG's output selectors.
//! - **Executor input.** Built in the driver's shape; numbers are written as protojson writes
//!   doubles. Outputs live in the run folder and their URIs are those absolute paths, which the
//!   executor uses as they are (no `/minio` mount locally).
//! - **Binaries.** `command[0]` is a path inside the image; see [`BinaryMap`] for how it is found
//!   locally (`--binary IMAGE_PATH=LOCAL_PATH`, `--binary PATH` for all, the path itself, next to
//!   the `kfp` program, on `PATH`).
//! - **Scheduling.** Tasks start when their upstream tasks finished; at most `parallelism`
//!   processes run at once. The first failure (after the task's `retryPolicy`) cancels the run:
//!   no new task starts and running ones are killed; the error carries the failing task's log
//!   tail.
//! - **Control flow.** `triggerPolicy.condition` (kfp's CEL subset) skips a task when false;
//!   `parameterIterator`/`artifactIterator` run the loop body once per item (at most
//!   `iteratorPolicy.parallelismLimit` at once) and collect each output into a list;
//!   `parameterExpressionSelector` picks a field of a struct item; an exit handler's task
//!   (`ALL_UPSTREAM_TASKS_COMPLETED`) runs after its group even when the group failed, and
//!   reads its `taskFinalStatus`; an importer records its URI as the task's artifact.
//! - **Caching.** A task with `cachingOptions.enableCache` whose component and resolved inputs
//!   match an earlier successful task reuses its outputs (index in `ROOT/.kfp-cache/`), unless
//!   caching is off for the run.
//! - **Kubernetes settings.** The file's second document (kfp-kubernetes) maps onto the local
//!   machine: PVCs, secrets, config maps and empty dirs as folders, env from secret and config
//!   map files, a deadline, and notices for what has no local meaning; see [`platform`].
//! - **Record.** `ROOT/<pipeline>/<run-id>/` holds `run.json` (arguments, status, outputs, tasks)
//!   and one folder per task (`a/b` for task `b` of nested DAG task `a`) with
//!   `executor_input.json`, `log`, `outputs/<parameter>`, `artifacts/<name>`,
//!   `output_metadata.json` and `task.json`.

mod cache;
mod cel;
mod driver;
mod error;
mod platform;
mod process;
mod progress;
mod resources;
mod runner;
mod spec;

pub use driver::Bindings;
pub use error::LocalError;
pub use platform::{CONFIG_MAPS_ENV, SECRETS_ENV, mount_env_name};
pub use process::BinaryMap;
pub use runner::TaskRecord;
pub use spec::{load_pipeline, load_platform, parse_arguments};

use crate::executor::fsio::write_atomic;
use cache::Cache;
use driver::complete_inputs;
use kfp_compiler::ir::{PipelineSpec, PlatformSpec};
use platform::LocalPlatform;
use runner::Run;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// How to run: where, how wide, with or without the cache, with which arguments.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The local pipeline root; runs go to `ROOT/<pipeline>/<run-id>/`.
    pub pipeline_root: PathBuf,
    /// At most this many executor processes at once (at least 1).
    pub parallelism: usize,
    /// Reuse outputs of earlier identical tasks (and record this run's for later ones).
    pub cache: bool,
    /// Typed pipeline arguments (see [`parse_arguments`]).
    pub arguments: Map<String, Value>,
    pub binaries: BinaryMap,
    /// The run id; a timestamped one when `None`.
    pub run_id: Option<String>,
    /// No progress display (library use, tests).
    pub quiet: bool,
    /// The file's Kubernetes settings (see [`load_platform`]); without them none apply.
    pub platform: Option<PlatformSpec>,
    /// Secrets as files `DIR/<secret>/<key>` (default: `$KFP_LOCAL_SECRETS`).
    pub secrets_dir: Option<PathBuf>,
    /// Config maps as files `DIR/<config map>/<key>` (default: `$KFP_LOCAL_CONFIG_MAPS`).
    pub config_maps_dir: Option<PathBuf>,
}

impl RunOptions {
    pub fn new(pipeline_root: impl Into<PathBuf>) -> Self {
        Self {
            pipeline_root: pipeline_root.into(),
            parallelism: std::thread::available_parallelism().map_or(2, |n| n.get()),
            cache: true,
            arguments: Map::new(),
            binaries: BinaryMap::default(),
            run_id: None,
            quiet: false,
            platform: None,
            secrets_dir: std::env::var_os(platform::SECRETS_ENV).map(PathBuf::from),
            config_maps_dir: std::env::var_os(platform::CONFIG_MAPS_ENV).map(PathBuf::from),
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// The pipeline's outputs (the root DAG's output selectors).
    pub outputs: Bindings,
    pub tasks: Vec<TaskRecord>,
}

/// Runs one compiled pipeline locally.
pub struct LocalRunner {
    spec: PipelineSpec,
    options: RunOptions,
}

impl LocalRunner {
    pub fn new(spec: PipelineSpec, mut options: RunOptions) -> Self {
        // Artifact URIs are paths under the root; the executor accepts only absolute ones.
        if let Ok(absolute) = std::path::absolute(&options.pipeline_root) {
            options.pipeline_root = absolute;
        }
        Self { spec, options }
    }

    /// Runs the pipeline to completion or to its first failure. Either way `run.json` records
    /// what happened.
    pub fn run(&self) -> Result<RunSummary, LocalError> {
        let root_dag = self
            .spec
            .root
            .dag
            .as_ref()
            .ok_or_else(|| LocalError::task("root", "the pipeline root has no dag"))?;
        for (name, spec) in &self.spec.root.input_definitions.parameters {
            let given = self.options.arguments.get(name).is_some_and(|v| !v.is_null());
            if !given && !spec.is_optional && spec.default_value.as_ref().is_none_or(Value::is_null) {
                let cause = format!("required and has no default; pass {name}=VALUE");
                return Err(LocalError::Argument { name: name.clone(), cause });
            }
        }
        let scope = Bindings { parameters: self.options.arguments.clone().into_iter().collect(), ..Default::default() };
        let scope = complete_inputs("pipeline inputs", &self.spec.root, scope)?;
        let run_id = self.options.run_id.clone().unwrap_or_else(new_run_id);
        let run_dir = self
            .options
            .pipeline_root
            .join(&self.spec.pipeline_info.name)
            .join(&run_id);
        std::fs::create_dir_all(&run_dir)
            .map_err(LocalError::io("cannot create", run_dir.clone()))?;
        let cache = self
            .options
            .cache
            .then(|| Cache::new(&self.options.pipeline_root));
        let run = Run::new(
            &self.spec,
            run_id.clone(),
            run_dir.clone(),
            cache,
            &self.options.binaries,
            self.options.parallelism,
            self.options.quiet,
            LocalPlatform::new(
                self.options.platform.as_ref(),
                self.options.secrets_dir.clone(),
                self.options.config_maps_dir.clone(),
                &run_dir,
            ),
        );
        run.progress.message(&format!(
            "run {run_id} of '{}' in {}",
            self.spec.pipeline_info.name,
            run_dir.display()
        ));
        let result = run.run_dag("", root_dag, &scope, &run_dir);
        run.progress.close();
        let result = match run.first_failure.lock().expect("failure lock").take() {
            Some(first) => Err(first),
            None => result,
        };
        let tasks = std::mem::take(&mut *run.records.lock().expect("records lock"));
        let record = json!({
            "pipeline": self.spec.pipeline_info.name,
            "run_id": run_id,
            "arguments": self.options.arguments,
            "status": if result.is_ok() { "succeeded" } else { "failed" },
            "error": result.as_ref().err().map(|e| e.to_string()),
            "outputs": result.as_ref().ok(),
            "tasks": tasks,
        });
        let record_path = run_dir.join("run.json");
        write_atomic(
            &record_path,
            &serde_json::to_vec_pretty(&record).expect("JSON values serialise"),
        )
        .map_err(LocalError::io("cannot write", record_path))?;
        let outputs = result?;
        Ok(RunSummary {
            run_id,
            run_dir,
            outputs,
            tasks,
        })
    }
}

/// `run-YYYYMMDD-HHMMSS-<nanos>` in UTC: sortable, and unique for runs started apart.
fn new_run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "run-{year:04}{month:02}{day:02}-{:02}{:02}{:02}-{:06}",
        day_secs / 3600,
        day_secs / 60 % 60,
        day_secs % 60,
        now.subsec_micros()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }

    /// `kfp local run --root runs` gives a relative root; artifact URIs must still be absolute.
    #[test]
    fn a_relative_root_becomes_absolute() {
        let spec: kfp_compiler::ir::PipelineSpec = serde_json::from_value(serde_json::json!({
            "pipelineInfo": {"name": "p"},
            "root": {"dag": {"tasks": {}}},
            "deploymentSpec": {"executors": {}},
            "schemaVersion": "2.1.0",
            "sdkVersion": "t"
        }))
        .unwrap();
        let runner = super::LocalRunner::new(spec, super::RunOptions::new("runs"));
        assert!(runner.options.pipeline_root.is_absolute());
        assert!(runner.options.pipeline_root.ends_with("runs"));
    }
}
