//! The progress display: a live line of pending/running/done counts with elapsed time on a
//! terminal (indicatif), plain log lines otherwise. Finished tasks are always printed as lines.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    started: Instant,
    bar: Option<ProgressBar>,
    quiet: bool,
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    running: Vec<String>,
    done: usize,
}

/// How a task ended, for the display and the run record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Cached,
    Skipped,
    Failed,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Cached => "cached",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl Progress {
    /// `quiet` prints nothing (library use and tests); otherwise stderr decides the style.
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            started: Instant::now(),
            bar,
            quiet,
            state: Mutex::new(Counts::default()),
        }
    }

    /// More container tasks are known (nested DAGs add theirs when they start).
    pub fn add_tasks(&self, count: usize) {
        self.state.lock().expect("progress lock").total += count;
        self.refresh();
    }

    pub fn started(&self, task: &str) {
        self.state
            .lock()
            .expect("progress lock")
            .running
            .push(task.to_owned());
        if self.bar.is_none() {
            self.line(&format!("running   {task}"));
        }
        self.refresh();
    }

    pub fn finished(&self, task: &str, outcome: Outcome, took: Duration) {
        {
            let mut state = self.state.lock().expect("progress lock");
            state.running.retain(|t| t != task);
            state.done += 1;
        }
        self.line(&format!(
            "{:<9} {task} ({:.2}s)",
            outcome.as_str(),
            took.as_secs_f64()
        ));
        self.refresh();
    }

    pub fn message(&self, text: &str) {
        self.line(text);
    }

    pub fn close(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        let line = format!("[{:>8.2}s] {text}", self.started.elapsed().as_secs_f64());
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            let state = self.state.lock().expect("progress lock");
            let pending = state.total.saturating_sub(state.done + state.running.len());
            bar.set_message(format!(
                "{pending} pending, {} running, {} done: {}",
                state.running.len(),
                state.done,
                state.running.join(", ")
            ));
        }
    }
}
