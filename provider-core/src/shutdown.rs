//! What a shutdown waits for and what it announces: the open scopes, and the
//! cancellation of the work still running at its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

/// Counts the scopes of an app that are open; a shutdown waits until none is.
/// The last scope to close wakes the waiter (no polling).
#[derive(Default)]
pub(crate) struct OpenScopes {
    count: AtomicUsize,
    /// Set while a shutdown waits: only then does closing a scope notify.
    watched: AtomicBool,
    idle: Notify,
}

impl OpenScopes {
    pub(crate) fn open(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn close(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 && self.watched.load(Ordering::SeqCst) {
            self.idle.notify_waiters();
        }
    }

    /// How many scopes are open.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Resolves once no scope is open.
    pub(crate) async fn idle(&self) {
        self.watched.store(true, Ordering::SeqCst);
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Announces that the deadline of an app's shutdown has passed while scopes
/// were still open: the work still running then (a request, a streaming
/// body, a WebSocket, a job holding a scope) should stop, and its scope then
/// closes with [`Outcome::Cancelled`](crate::Outcome::Cancelled).
///
/// Obtained from [`App::cancellation`](crate::App::cancellation). The axum
/// integration's `serve` and `ws::WebSocketUpgrade` listen to it; a worker
/// outside HTTP can race its work against [`cancelled`](Cancellation::cancelled).
///
/// ```
/// use axum_providers::prelude::*;
///
/// #[providers()]
/// struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let cancellation = app.cancellation();
/// let scope = app.scope(); // the worker's scope: shutdown waits for it
/// let worker = tokio::spawn(async move {
///     let ended = tokio::select! {
///         () = cancellation.cancelled() => "cut at the shutdown deadline",
///         () = std::future::pending::<()>() => "finished",
///     };
///     drop(scope); // its values are torn down as cancelled
///     ended
/// });
/// let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(10);
/// app.shutdown_by(deadline).await?;
/// assert_eq!(worker.await?, "cut at the shutdown deadline");
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Cancellation(Arc<CancellationState>);

#[derive(Default)]
struct CancellationState {
    cancelled: AtomicBool,
    notify: Arc<Notify>,
}

impl Cancellation {
    /// `true` once the deadline passed.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves when the deadline passes (at once if it has).
    #[must_use]
    pub fn cancelled(&self) -> Cancelled {
        Cancelled { notified: Arc::clone(&self.0.notify).notified_owned(), state: Arc::clone(&self.0) }
    }

    /// Cancels now: what a shutdown does at its deadline (the axum
    /// integration's `serve` does it when its drain reaches the deadline).
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
}

impl std::fmt::Debug for Cancellation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancellation").field("cancelled", &self.is_cancelled()).finish()
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Cancellation::cancelled`].
    pub struct Cancelled {
        #[pin]
        notified: OwnedNotified,
        state: Arc<CancellationState>,
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        // Registered before the flag is read, so a cancellation in between wakes it.
        this.notified.as_mut().enable();
        if this.state.cancelled.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        this.notified.poll(cx)
    }
}

impl std::fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancelled").finish_non_exhaustive()
    }
}
