//! A one-line progress bar on stderr (trials done, best value so far, elapsed time), drawn only
//! when stdout is a terminal so logs and pipes stay clean.

use super::frozen::{Direction, FrozenTrial, TrialState};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(100);
const WIDTH: usize = 30;

/// Progress of one `optimize` call.
pub struct Progress {
    enabled: bool,
    total: Option<usize>,
    direction: Direction,
    done: usize,
    best: Option<f64>,
    start: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    pub fn new(requested: bool, total: Option<usize>, direction: Direction) -> Self {
        Progress { enabled: requested && std::io::stdout().is_terminal(), total, direction, done: 0, best: None, start: Instant::now(), last_draw: None }
    }

    pub fn trial_done(&mut self, trial: &FrozenTrial) {
        self.done += 1;
        if let (TrialState::Complete, Some(v)) = (trial.state, trial.value)
            && self.best.is_none_or(|b| self.direction.better(v, b))
        {
            self.best = Some(v);
        }
        if self.enabled && self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY) {
            self.draw();
        }
    }

    /// The bar's text.
    pub fn line(&self) -> String {
        let best = self.best.map_or_else(|| "-".to_owned(), |b| format!("{b:.6}"));
        let elapsed = self.start.elapsed().as_secs_f64();
        match self.total {
            Some(total) if total > 0 => {
                let filled = (self.done * WIDTH / total).min(WIDTH);
                format!("[{}{}] {}/{} trials, best {best}, {elapsed:.1}s", "#".repeat(filled), ".".repeat(WIDTH - filled), self.done, total)
            }
            _ => format!("{} trials, best {best}, {elapsed:.1}s", self.done),
        }
    }

    fn draw(&mut self) {
        self.last_draw = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{}", self.line());
        let _ = err.flush();
    }

    pub fn finish(&mut self) {
        if self.enabled && self.done > 0 {
            self.draw();
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::frozen::FrozenTrial;

    fn done(number: u64, value: Option<f64>) -> FrozenTrial {
        let state = if value.is_some() { TrialState::Complete } else { TrialState::Fail };
        FrozenTrial { value, ..FrozenTrial::new(number, state, 0.0) }
    }

    #[test]
    fn the_line_counts_trials_and_tracks_the_best() {
        let mut p = Progress::new(true, Some(10), Direction::Minimize);
        for (n, v) in [(0, Some(3.0)), (1, None), (2, Some(1.5)), (3, Some(2.0))] {
            p.trial_done(&done(n, v));
        }
        let line = p.line();
        assert!(line.starts_with("[############..................] 4/10 trials, best 1.500000"), "{line}");
        let open_ended = Progress::new(false, None, Direction::Maximize).line();
        assert!(open_ended.starts_with("0 trials, best -"), "{open_ended}");
    }
}
