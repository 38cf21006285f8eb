//! Helpers shared by the integration tests in `tests/`: an event journal that
//! providers write to, and an in-memory `tracing` writer.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What happened, in order: `setup x`, `teardown x (outcome)`, ...
///
/// Cheap to clone; clones share the events.
#[derive(Clone, Default, Debug)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    /// Appends an event.
    pub fn record(&self, event: impl Into<String>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(event.into());
    }

    /// Every event so far.
    #[must_use]
    pub fn events(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every event so far, emptying the journal.
    #[must_use]
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Forgets every event so far.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// How many times `event` was recorded.
    #[must_use]
    pub fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| e.as_str() == event).count()
    }

    /// The events that mention request `id` (as a word), in order.
    #[must_use]
    pub fn of(&self, id: &str) -> Vec<String> {
        let suffix = format!(" {id}");
        let infix = format!(" {id} ");
        self.events().into_iter().filter(|e| e.ends_with(&suffix) || e.contains(&infix)).collect()
    }

    /// Waits (up to 5 s) until `event` was recorded.
    ///
    /// # Panics
    ///
    /// When it was not, with every event recorded.
    pub async fn wait_for(&self, event: &str) {
        let started = Instant::now();
        while !self.events().iter().any(|e| e == event) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "timed out waiting for `{event}`: {:?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default, Debug)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `serve` in the background until the returned sender fires (or is
/// dropped): the server task then drains, tears the app down and returns.
pub fn in_background<L, M, R>(
    serve: axum_providers::Serve<L, M, R>,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), axum_providers::ServeError>>)
where
    R: axum_providers::registry::Registry,
    axum_providers::Serve<L, M, R>: std::future::IntoFuture<Output = Result<(), axum_providers::ServeError>>,
    <axum_providers::Serve<L, M, R> as std::future::IntoFuture>::IntoFuture: Send + 'static,
{
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve = serve.with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    (stop, tokio::spawn(std::future::IntoFuture::into_future(serve)))
}
