//! Catching a component's panic as one line of text instead of the default multi-line report.
//!
//! The panic hook is process-wide, so it is installed once and stays: on a thread inside
//! [`catch`] it records the message and location; on any other thread it defers to the hook
//! that was there before (tests running in parallel keep their normal panic output).

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

thread_local! {
    /// `Some` while this thread is inside `catch`; then the last panic's message.
    static CAPTURE: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Runs `f`; a panic becomes `Err("message at file:line:col")`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    CAPTURE.with(|c| *c.borrow_mut() = Some(None));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    let captured = CAPTURE.with(|c| c.borrow_mut().take()).flatten();
    result.map_err(|payload| {
        captured.unwrap_or_else(|| {
            payload_text(payload.as_ref())
                .unwrap_or("unknown panic payload")
                .to_owned()
        })
    })
}

fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let inside_catch = CAPTURE.with(|c| {
                let mut slot = c.borrow_mut();
                match slot.as_mut() {
                    Some(message) => {
                        *message = Some(describe(info));
                        true
                    }
                    None => false,
                }
            });
            if !inside_catch {
                previous(info);
            }
        }));
    });
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let message = payload_text(info.payload()).unwrap_or("unknown panic payload");
    match info.location() {
        Some(at) => format!("{message} (at {}:{}:{})", at.file(), at.line(), at.column()),
        None => message.to_owned(),
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}
