//! A counting semaphore that bounds the executor processes running at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A counting semaphore for executor processes.
pub(super) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

pub(super) struct Slot<'s>(&'s Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().expect("slots lock") += 1;
        self.0.freed.notify_one();
    }
}

impl Slots {
    pub(super) fn new(count: usize) -> Self {
        Self {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot; `None` once the run is cancelled.
    pub(super) fn acquire(&self, cancel: &AtomicBool) -> Option<Slot<'_>> {
        let mut free = self.free.lock().expect("slots lock");
        loop {
            if cancel.load(Ordering::SeqCst) {
                return None;
            }
            if *free > 0 {
                *free -= 1;
                return Some(Slot(self));
            }
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(50))
                .expect("slots lock")
                .0;
        }
    }
}
