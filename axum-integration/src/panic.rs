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
    /// The last handler panic on this thread that nobody reported yet: its
    /// message and where it happened.
    static UNREPORTED: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
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
/// hook that was installed before, unchanged. A panic in the handler that a
/// layer inside the providers layer catches itself (tower-http's
/// `CatchPanicLayer`) is logged by the providers layer at error level.
/// Built with `panic = "abort"`, this does nothing: the hook's message is all
/// there is.
///
/// ```
/// axum_providers::quiet_handler_panics();
/// ```
pub fn quiet_handler_panics() {
    if cfg!(panic = "abort") {
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_HANDLER.with(Cell::get) > 0 {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                let location = info.location().map(ToString::to_string).unwrap_or_default();
                UNREPORTED.with(|last| *last.borrow_mut() = Some((message, location)));
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

    /// Where the handler panic the layer just caught happened, if the quiet
    /// hook recorded it; the layer reports it.
    pub(crate) fn claim(&self) -> Option<String> {
        if !self.0 {
            return None;
        }
        UNREPORTED.with(|last| last.borrow_mut().take()).map(|(_, location)| location)
    }
}

impl Drop for PollingHandler {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            IN_HANDLER.with(|depth| depth.set(depth.get().saturating_sub(1)));
            // A panic that something inside the layer caught: not lost.
            if let Some((message, location)) = UNREPORTED.with(|last| last.borrow_mut().take()) {
                tracing::error!(panic = %message, %location, "a panic in the handler was caught inside the providers layer");
            }
        }
    }
}
