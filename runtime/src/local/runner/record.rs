//! The run record: each task's `task.json` and its line in `run.json`, for tasks that
//! succeeded, were skipped or cached, or failed (with the tail of their log).

use super::Run;
use crate::executor::fsio::write_atomic;
use crate::local::driver::Bindings;
use crate::local::error::LocalError;
use crate::local::process::log_tail;
use crate::local::progress::Outcome;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Lines of a failed task's log shown in the error.
const LOG_TAIL_LINES: usize = 20;

/// One task's line in the run record.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRecord {
    pub task: String,
    pub status: &'static str,
    pub attempts: u32,
    /// Wall time of the task's executor processes (all attempts); 0 for a cache hit.
    pub seconds: f64,
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Kubernetes settings that do nothing locally, one line per group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

impl TaskRecord {
    pub(super) fn new(task: &str, outcome: Outcome, dir: &Path) -> Self {
        Self {
            task: task.to_owned(),
            status: outcome.as_str(),
            attempts: 0,
            seconds: 0.0,
            dir: dir.to_owned(),
            cached_from: None,
            error: None,
            notices: Vec::new(),
        }
    }
}

impl Run<'_> {
    /// Reports and records a step that ran inside the runner (an importer, a volume step).
    pub(super) fn succeeded_at_once(&self, path: &str, task_dir: &Path, outputs: Bindings) -> Result<Bindings, LocalError> {
        self.progress.finished(path, Outcome::Succeeded, Duration::ZERO);
        self.record(task_dir, TaskRecord::new(path, Outcome::Succeeded, task_dir), Some(&outputs))?;
        Ok(outputs)
    }

    pub(super) fn task_failed(
        &self,
        path: &str,
        task_dir: &Path,
        cause: String,
        attempts: u32,
        took: Duration,
        outcome: Outcome,
    ) -> LocalError {
        self.progress.finished(path, outcome, took);
        let record = TaskRecord {
            task: path.to_owned(),
            status: outcome.as_str(),
            attempts,
            seconds: took.as_secs_f64(),
            dir: task_dir.to_owned(),
            cached_from: None,
            error: Some(cause.clone()),
            notices: Vec::new(),
        };
        if let Err(err) = self.record(task_dir, record, None) {
            self.progress.message(&format!("warning: {err}"));
        }
        let log = task_dir.join("log");
        LocalError::TaskFailed {
            task: path.to_owned(),
            cause,
            log_tail: log_tail(&log, LOG_TAIL_LINES),
            log,
        }
    }

    /// Writes `task.json` in the task folder and adds the task to the run record.
    pub(super) fn record(
        &self,
        task_dir: &Path,
        record: TaskRecord,
        outputs: Option<&Bindings>,
    ) -> Result<(), LocalError> {
        let mut json = serde_json::to_value(&record).expect("task records serialise");
        if let Some(outputs) = outputs {
            json["outputs"] = serde_json::to_value(outputs).expect("bindings serialise");
        }
        let path = task_dir.join("task.json");
        let text = serde_json::to_vec_pretty(&json).expect("JSON values serialise");
        write_atomic(&path, &text).map_err(LocalError::io("cannot write", path))?;
        self.records.lock().expect("records lock").push(record);
        Ok(())
    }
}
