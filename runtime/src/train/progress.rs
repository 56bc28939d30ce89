//! Rank 0's per-epoch progress: a bar redrawn in place with loss and throughput on a terminal,
//! one plain line per epoch otherwise (logs, CI, Kubernetes).
use std::io::{IsTerminal, Write};
use std::time::Instant;

use super::metrics::EpochMetrics;

pub struct Progress {
    enabled: bool,
    terminal: bool,
    epochs: usize,
    steps: usize,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    pub fn new(enabled: bool, epochs: usize, steps_per_epoch: usize) -> Self {
        Progress {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            epochs,
            steps: steps_per_epoch,
            started: Instant::now(),
            last_draw: None,
        }
    }

    pub fn start_epoch(&mut self) {
        self.started = Instant::now();
        self.last_draw = None;
    }

    /// Reads `loss` (a device sync) only when redrawing. `samples` counts this rank's samples this epoch; `world_size` scales it to the job.
    pub fn step(&mut self, epoch: usize, step: usize, loss: &tch::Tensor, samples: usize, world_size: usize) {
        if !self.enabled || !self.terminal {
            return;
        }
        let now = Instant::now();
        if self.last_draw.is_some_and(|t| now.duration_since(t).as_millis() < 100) && step + 1 < self.steps {
            return;
        }
        self.last_draw = Some(now);
        let loss = loss.double_value(&[]);
        let width = 30;
        let filled = (step + 1) * width / self.steps.max(1);
        let rate = (samples * world_size) as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\repoch {}/{} [{}{}] {}/{} loss {loss:.4} {rate:.0} samples/s",
            epoch + 1,
            self.epochs,
            "=".repeat(filled),
            " ".repeat(width - filled),
            step + 1,
            self.steps
        );
        let _ = err.flush();
    }

    pub fn end_epoch(&mut self, metrics: &EpochMetrics) {
        if !self.enabled {
            return;
        }
        let mut line = format!(
            "epoch {}/{}: train_loss {:.5}",
            metrics.epoch + 1,
            self.epochs,
            metrics.train_loss
        );
        if let Some(v) = metrics.val_loss {
            line += &format!(" val_loss {v:.5}");
        }
        if let Some(a) = metrics.val_accuracy {
            line += &format!(" val_accuracy {a:.4}");
        }
        line += &format!(" lr {:.3e} {:.0} samples/s {:.2}s", metrics.lr, metrics.samples_per_sec, metrics.seconds);
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal { writeln!(err, "\r\x1b[2K{line}") } else { writeln!(err, "{line}") };
    }
}
