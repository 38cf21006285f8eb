//! Handler panics reported once: by the layer's log line, not also by the
//! standard panic hook.

use std::cell::{Cell, RefCell};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static INSTALLED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

thread_local! {
    /// How many providers layers are polling their handler on this thread.
    static IN_HANDLER: Cell<u32> = const { Cell::new(0) };
    /// Where the last handler panic on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Reports handler panics only through the providers layer's `tracing` error
/// (which then names the panic's location), not also through the standard
/// panic hook.
///
/// The layer catches a panicking handler, answers `500`, tears the request's
/// values down with `Outcome::Panicked` and logs
/// `handler panicked; answering 500 ...` at error level. By default Rust's
/// panic hook has printed the panic to stderr before that (with a backtrace
/// under `RUST_BACKTRACE=1`), so each panic is reported twice, once outside
/// your log format. Call this once at startup to keep only the log line.
/// Panics elsewhere (other threads, spawned tasks, startup) still go to the
/// hook that was installed before, unchanged.
///
/// ```
/// axum_providers_axum::quiet_handler_panics();
/// ```
pub fn quiet_handler_panics() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_HANDLER.with(Cell::get) > 0 {
                let location = info.location().map(ToString::to_string);
                LOCATION.with(|last| *last.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
        INSTALLED.store(true, Ordering::Release);
    });
}

/// Marks this thread as polling a handler for as long as it lives, when
/// [`quiet_handler_panics`] was called (otherwise it costs one atomic load).
pub(crate) struct PollingHandler(bool);

impl PollingHandler {
    #[inline]
    pub(crate) fn enter() -> Self {
        let installed = INSTALLED.load(Ordering::Relaxed);
        if installed {
            IN_HANDLER.with(|depth| depth.set(depth.get() + 1));
        }
        Self(installed)
    }
}

impl Drop for PollingHandler {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            IN_HANDLER.with(|depth| depth.set(depth.get().saturating_sub(1)));
        }
    }
}

/// Where the handler panic just caught on this thread happened, if the quiet
/// hook recorded it.
pub(crate) fn take_location() -> Option<String> {
    LOCATION.with(|last| last.borrow_mut().take())
}
