//! The scheduler: runs a DAG's tasks in dependency order, independent ones in parallel (at
//! most `parallelism` executor processes at once), nested DAG components recursively, and
//! stops everything at the first failure.
//!
//! [`Run`] holds what the tasks of one run share; its methods are spread by concern:
//! [`schedule`] walks a DAG, [`task`] runs one task (its condition, then a loop, a sub-DAG, an
//! importer or volume step, or a container), [`loops`] and [`container`] run those kinds of
//! task, [`outputs`] gathers a DAG's outputs, [`record`] writes the run record and [`slots`]
//! bounds the executor processes running at once.

use super::cache::Cache;
use super::error::LocalError;
use super::platform::LocalPlatform;
use super::process::BinaryMap;
use super::progress::Progress;
use super::platform::TaskPlatform;
use kfp_compiler::ir::{ComponentSpec, PipelineSpec, PipelineTaskSpec};
use slots::Slots;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

mod container;
mod loops;
mod outputs;
mod record;
mod schedule;
mod slots;
mod task;

pub use record::TaskRecord;

/// Stack of the thread that waits for one task (it only polls a process or runs a sub-DAG).
/// Not smaller: a CUDA build's libraries put ~200 KiB of thread-local storage on every stack.
const TASK_THREAD_STACK: usize = 1024 * 1024;

/// One task (or loop iteration) being run: what every step of running it needs.
#[derive(Clone, Copy)]
pub(super) struct TaskCall<'t> {
    /// The task's path in the run (`parent/task`, `loop/3` for an iteration).
    pub path: &'t str,
    pub task: &'t PipelineTaskSpec,
    pub platform: Option<&'t TaskPlatform>,
    /// Where its files go.
    pub dir: &'t Path,
    /// Set when the run stops launching (never set for tasks that run after failures).
    pub cancel: &'t AtomicBool,
}

pub(crate) struct Run<'a> {
    pub spec: &'a PipelineSpec,
    pub run_id: String,
    pub run_dir: PathBuf,
    pub cache: Option<Cache>,
    pub binaries: &'a BinaryMap,
    pub progress: Progress,
    pub cancel: AtomicBool,
    pub first_failure: Mutex<Option<LocalError>>,
    pub records: Mutex<Vec<TaskRecord>>,
    pub platform: LocalPlatform<'a>,
    slots: Slots,
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: &'a PipelineSpec,
        run_id: String,
        run_dir: PathBuf,
        cache: Option<Cache>,
        binaries: &'a BinaryMap,
        parallelism: usize,
        quiet: bool,
        platform: LocalPlatform<'a>,
    ) -> Self {
        Self {
            spec,
            run_id,
            run_dir,
            cache,
            binaries,
            progress: Progress::new(quiet),
            cancel: AtomicBool::new(false),
            first_failure: Mutex::new(None),
            records: Mutex::new(Vec::new()),
            platform,
            slots: Slots::new(parallelism.max(1)),
        }
    }

    /// Records the run's first failure and stops launching and running tasks.
    fn fail(&self, err: LocalError) {
        let mut first = self.first_failure.lock().expect("failure lock");
        if first.is_none() {
            *first = Some(err);
        }
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn component(&self, name: &str) -> Result<&'a ComponentSpec, String> {
        self.spec
            .components
            .get(name)
            .ok_or_else(|| format!("component '{name}' is not in the pipeline spec"))
    }
}
