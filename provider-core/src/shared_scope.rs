//! The open scope (its slots and its teardown entries, in one allocation)
//! and the public driver of a request scope: [`SharedScope`] and the future
//! of its closing before the response, [`BeforeResponse`].

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;

use crate::app::App;
use crate::closing::{Closed, Closing, OnFailure, OutcomeSender, Teardowns};
use crate::deferred::Job;
use crate::error::{ProviderError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::Registry;
use crate::resolver::Resolver;
use crate::slot::SlotTable;
use crate::teardown::{Entry, TeardownTiming};

/// An open scope, in one allocation: the slots where its request values are
/// found, and their teardown entries in setup order.
pub(crate) struct ScopeInner<R: Registry> {
    app: App<R>,
    /// One slot per provider of the registry (those of request providers used).
    pub(crate) slots: R::Slots,
    /// Mirrors `state.closed`, read without the lock by lookups.
    closed: AtomicBool,
    state: Mutex<ScopeState>,
    traced: Traced,
}

/// Whether setup and teardown spans are recorded in a scope: asked of
/// `tracing` once per scope, on first need. (`tracing::enabled!` costs a
/// dispatcher lookup when no subscriber filters the level out statically,
/// which is every call when none is installed.)
#[derive(Default)]
pub(crate) struct Traced(AtomicU8); // 0: not asked yet, then `NO` or `YES`

impl Traced {
    const NO: u8 = 1;
    const YES: u8 = 2;

    #[inline]
    pub(crate) fn get(&self) -> bool {
        match self.0.load(Ordering::Relaxed) {
            Self::NO => false,
            Self::YES => true,
            _ => {
                let traced = tracing::enabled!(tracing::Level::DEBUG);
                self.0.store(if traced { Self::YES } else { Self::NO }, Ordering::Relaxed);
                traced
            }
        }
    }
}

#[derive(Default)]
struct ScopeState {
    /// Every value set up in this scope, in setup order: the entries own
    /// the values, which they take back at close for their teardown.
    order: Vec<Entry>,
    setup_failed: bool,
    closed: bool,
    /// The outcome of an upgraded connection (a WebSocket), told later by
    /// whoever serves it ([`SharedScope::decide_outcome_later`]).
    later: Option<oneshot::Receiver<Outcome>>,
}

impl<R: Registry> ScopeInner<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        app.inner().scopes.open();
        Self {
            app,
            slots: R::Slots::empty(),
            closed: AtomicBool::new(false),
            state: Mutex::new(ScopeState::default()),
            traced: Traced::default(),
        }
    }

    /// Whether spans are recorded in this scope.
    pub(crate) fn traced(&self) -> bool {
        self.traced.get()
    }

    fn state(&self) -> MutexGuard<'_, ScopeState> {
        self.state.lock()
    }

    pub(crate) fn resolver<'r>(&'r self, context: Option<&'r mut (dyn Any + Send)>) -> Resolver<'r, R> {
        // (`context`: the request's parts, for providers that use the request.)
        Resolver::new(self.app.inner(), Some(self), context)
    }

    /// Remembers a value set up in this scope. A scope closed while the value
    /// was being set up (its request was cancelled, a lazy value was asked for
    /// too late) gets the value torn down at once, on the app's worker.
    pub(crate) fn push(&self, entry: Entry) -> Result<(), ProviderError> {
        let mut state = self.state();
        if state.closed {
            drop(state);
            let provider = entry.provider;
            self.app.inner().deferred.send(Job::new(vec![entry], Outcome::Cancelled.into()));
            return Err(ProviderError::internal(provider, "the scope closed while this value was set up"));
        }
        if state.order.capacity() == 0 {
            state.order.reserve_exact(4);
        }
        state.order.push(entry);
        Ok(())
    }

    pub(crate) fn mark_setup_failed(&self) {
        self.state().setup_failed = true;
    }

    pub(crate) fn setup_failed(&self) -> bool {
        self.state().setup_failed
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the scope closed and takes its entries, with the outcome adjusted
    /// for a provider failure in this scope, and the outcome to be told later.
    fn take_entries(&self, outcome: Outcome) -> Option<Taken> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        state.closed = true;
        self.closed.store(true, Ordering::Release);
        let outcome = match outcome {
            Outcome::Success | Outcome::ErrorResponse { .. } if state.setup_failed => Outcome::SetupFailed,
            other => other,
        };
        Some(Taken { entries: std::mem::take(&mut state.order), outcome, later: state.later.take() })
    }

    /// See [`SharedScope::decide_outcome_later`].
    fn decide_outcome_later(&self) -> OutcomeSender {
        let (sender, receiver) = oneshot::channel();
        self.state().later = Some(receiver);
        OutcomeSender(sender)
    }

    /// Closes the scope before the response is sent: tears down, in reverse
    /// order of setup, everything from the first before-response value on
    /// (everything when `all`), polling each teardown with `cx`.
    ///
    /// `Ok` with the failures and what is left for after the response (the
    /// after-response values set up before every before-response one) when
    /// every teardown finished at once, or `Err` with the teardowns still to
    /// poll ([`Closing::poll_close`]); the one in progress has registered
    /// `cx`'s waker.
    pub(crate) fn close(
        &self,
        outcome: Outcome,
        all: bool,
        cx: &mut Context<'_>,
    ) -> Result<Closed<R>, Box<Closing<R>>> {
        let Some(Taken { entries, outcome, later }) = self.take_entries(outcome) else {
            return Ok(Closed::nothing(outcome));
        };
        let (stop, on_failure) = match all {
            true => (0, OnFailure::Fail),
            false => (
                entries
                    .iter()
                    .position(|entry| entry.has_teardown() && entry.timing == TeardownTiming::BeforeResponse)
                    .unwrap_or(entries.len()),
                OnFailure::Respond,
            ),
        };
        let mut teardowns = Teardowns::new(entries, stop, outcome, on_failure, self.traced());
        teardowns.later = later;
        match teardowns.poll_advance(cx) {
            Poll::Ready(()) => Ok(teardowns.finish(&self.app)),
            Poll::Pending => Err(Box::new(Closing { app: self.app.clone(), teardowns })),
        }
    }

    /// Closes the scope and runs every teardown before returning (scopes opened
    /// by hand).
    pub(crate) async fn close_all(&self, outcome: Outcome) -> Result<(), TeardownErrors> {
        let mut closing = None;
        let closed = std::future::poll_fn(|cx| match closing.as_mut() {
            None => match self.close(outcome, true, cx) {
                Ok(closed) => Poll::Ready(closed),
                Err(pending) => {
                    closing = Some(pending);
                    Poll::Pending
                }
            },
            Some(pending) => pending.poll_close(cx),
        })
        .await;
        // Values still held by a `Dep` go to the app's worker, with the final outcome.
        if let Some(remainder) = closed.after_response {
            remainder.finish(closed.outcome);
        }
        closed.errors
    }

    /// Closes the scope without waiting: teardown runs on the app's worker.
    pub(crate) fn abandon(&self, outcome: Outcome) {
        if let Some(Taken { entries, outcome, .. }) = self.take_entries(outcome) {
            self.app.inner().deferred.send(Job::new(entries, outcome.into()));
        }
    }
}

impl<R: Registry> Drop for ScopeInner<R> {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if !state.closed && !state.order.is_empty() {
            state.closed = true;
            let entries = std::mem::take(&mut state.order);
            self.app.inner().deferred.send(Job::new(entries, Outcome::Cancelled.into()));
        }
        self.app.inner().scopes.close();
    }
}

/// What a scope held when it closed.
struct Taken {
    entries: Vec<Entry>,
    outcome: Outcome,
    later: Option<oneshot::Receiver<Outcome>>,
}

/// A request scope, shared by whoever serves the request and the code that
/// resolves values in it: the driver for integrating providers with a
/// framework, which the axum layer uses.
///
/// The walk of one request: [`open`](SharedScope::open) a scope when the
/// request arrives and let it travel with the request (the axum layer puts it
/// in the request's extensions, so that it survives a middleware that moves
/// the request to another task); resolve values through a
/// [`resolver`](SharedScope::resolver); when the response is ready, await
/// [`close_before_response`](SharedScope::close_before_response) with the
/// response's outcome, answer with the response it may have replaced, and
/// hand the rest ([`AfterResponse`](crate::AfterResponse)) to the response's
/// body to [`finish`](crate::AfterResponse::finish) when it ends. A request
/// that goes away first is [`abandon`](SharedScope::abandon)ed.
///
/// ```
/// # use axum_providers_core as axum_providers;
/// use axum_providers::{App, Outcome, SharedScope};
/// # use axum_providers::{Registry, ProviderEntry};
/// # struct AppProviders;
/// # impl Registry for AppProviders { const PROVIDERS: &'static [ProviderEntry<Self>] = &[]; type Slots = (); }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = App::<AppProviders>::builder().build().await?;
/// let scope = SharedScope::open(&app);
/// let mut request = (); // what providers may borrow: for HTTP, the request's head
/// let mut resolver = scope.resolver(&mut request);
/// // ... `resolver.shared::<T>().await?` for each value the handler asks for ...
/// # drop(resolver);
/// let closed = scope.close_before_response(Outcome::Success).await;
/// closed.errors?; // every failure is logged; a success turned into an error is in `closed.replaced`
/// if let Some(after_response) = closed.after_response {
///     after_response.finish(closed.outcome); // when the body has been sent
/// }
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct SharedScope<R: Registry>(Arc<ScopeInner<R>>);

impl<R: Registry> Clone for SharedScope<R> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<R: Registry> SharedScope<R> {
    /// Opens a request scope of `app`. Until it closes, a shutdown of `app`
    /// waits for it.
    #[must_use]
    pub fn open(app: &App<R>) -> Self {
        Self(Arc::new(ScopeInner::new(app.clone())))
    }

    /// A resolver over this scope; `context` is what providers may borrow
    /// from the request (for HTTP, its `http::request::Parts`).
    pub fn resolver<'r>(&'r self, context: &'r mut (dyn Any + Send)) -> Resolver<'r, R> {
        self.0.resolver(Some(context))
    }

    /// The scope of a request, from its extensions, if a providers layer of
    /// registry `R` handles it.
    #[cfg(feature = "axum")]
    #[must_use]
    pub fn of(extensions: &http::Extensions) -> Option<Self> {
        extensions.get::<Self>().cloned()
    }

    /// Closes the scope once the response is ready, before it is sent: the
    /// future runs the teardowns of the before-response part, in reverse
    /// order of setup, with `outcome` (the response's; a provider failure in
    /// this scope makes it [`Outcome::SetupFailed`]), and resolves with what
    /// to answer and what is left for after the response. Dropped before it
    /// finished (the request went away), the teardown in progress and the
    /// rest run on the app's worker with [`Outcome::Cancelled`].
    #[must_use = "the scope closes only when the future is polled"]
    pub fn close_before_response(self, outcome: Outcome) -> BeforeResponse<R> {
        BeforeResponse { state: Closure::Start(self, outcome) }
    }

    /// Closes without waiting (teardown runs on the app's worker).
    pub fn abandon(&self, outcome: Outcome) {
        self.0.abandon(outcome);
    }

    /// For a connection that is upgraded (a WebSocket): its outcome is not
    /// the `101` response's but how the connection ends, told through the
    /// returned sender. The scope's values that are torn down after the
    /// response wait for it; a sender dropped unused tells
    /// [`Outcome::Cancelled`].
    #[must_use]
    pub fn decide_outcome_later(&self) -> OutcomeSender {
        self.0.decide_outcome_later()
    }

    /// The app container the scope belongs to.
    #[must_use]
    pub fn app(&self) -> &App<R> {
        &self.0.app
    }

    /// `true` once closed (or closing).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// `true` when a provider failed in this scope.
    #[must_use]
    pub fn setup_failed(&self) -> bool {
        self.0.setup_failed()
    }
}

/// The before-response closing of a request scope, as a future
/// ([`SharedScope::close_before_response`]). Most teardowns finish at once,
/// and then so does the first poll; one in progress (a commit waiting for its
/// database) is polled with the request's own waker.
pub struct BeforeResponse<R: Registry> {
    state: Closure<R>,
}

enum Closure<R: Registry> {
    Start(SharedScope<R>, Outcome),
    TearingDown(Box<Closing<R>>),
    Done,
}

impl<R: Registry> Future for BeforeResponse<R> {
    type Output = Closed<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Closed<R>> {
        let mut closing = match std::mem::replace(&mut self.state, Closure::Done) {
            Closure::Start(scope, outcome) => match scope.0.close(outcome, false, cx) {
                Ok(closed) => return Poll::Ready(closed),
                Err(closing) => closing,
            },
            Closure::TearingDown(closing) => closing,
            Closure::Done => return Poll::Ready(Closed::nothing(Outcome::Cancelled)),
        };
        match closing.poll_close(cx) {
            Poll::Ready(closed) => Poll::Ready(closed),
            Poll::Pending => {
                self.state = Closure::TearingDown(closing);
                Poll::Pending
            }
        }
    }
}
