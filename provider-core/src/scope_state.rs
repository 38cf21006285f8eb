//! Scopes: the per-request (or hand-opened) cache of values and their teardown.

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use crate::app::App;
use crate::deferred::Job;
use crate::dep::{Dep, DepMut};
use crate::error::{ProviderError, TeardownError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::{Provides, Registry};
use crate::resolver::Resolver;
use crate::scope::{Exclusive, ScopeKind, Shareable};
use crate::teardown::{Entry, Erased, Running, StoreAs, Stored, TeardownTiming};

/// What a scope holds for one provider.
pub(crate) enum Lookup {
    Cached(Stored),
    Closed,
    Missing,
}

pub(crate) struct ScopeInner<R: Registry> {
    app: App<R>,
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
    /// Every value set up in this scope, in setup order. A request-scoped
    /// value is found here by its provider's index: a scope holds a handful of
    /// values, so a scan beats a second allocation.
    order: Vec<Entry>,
    setup_failed: bool,
    closed: bool,
}

impl<R: Registry> ScopeInner<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        Self { app, state: Mutex::new(ScopeState::default()), traced: Traced::default() }
    }

    /// Whether spans are recorded in this scope.
    pub(crate) fn traced(&self) -> bool {
        self.traced.get()
    }

    fn state(&self) -> MutexGuard<'_, ScopeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn resolver<'r>(&'r self, context: Option<&'r mut (dyn Any + Send)>) -> Resolver<'r, R> {
        // (`context`: the request's parts, for providers that use the request.)
        Resolver::new(self.app.inner(), Some(self), context)
    }

    fn find(state: &ScopeState, index: usize) -> Option<Stored> {
        state.order.iter().rev().find(|entry| entry.cached_as == Some(index)).map(Entry::stored)
    }

    /// The cached value of provider `index` (request scope), or why there is none.
    pub(crate) fn lookup(&self, index: usize, kind: ScopeKind) -> Lookup {
        let state = self.state();
        if kind == ScopeKind::Request
            && let Some(stored) = Self::find(&state, index)
        {
            return Lookup::Cached(stored);
        }
        if state.closed { Lookup::Closed } else { Lookup::Missing }
    }

    /// Remembers a value set up in this scope. A scope closed while the value
    /// was being set up (its request was cancelled, a lazy value was asked for
    /// too late) gets the value torn down at once, on the app's worker.
    pub(crate) fn store(
        &self,
        index: usize,
        kind: ScopeKind,
        erased: Erased,
    ) -> Result<Stored, ProviderError> {
        let provider = &R::PROVIDERS[index];
        let cached_as = (kind == ScopeKind::Request).then_some(index);
        let (value, entry) = erased.into_entry(provider.name(), provider.teardown_timing(), cached_as);
        let mut state = self.state();
        if state.closed {
            drop(state);
            drop(value);
            self.app.inner().deferred.send(Job::new(vec![entry], Outcome::Cancelled));
            return Err(ProviderError::internal(
                provider.name(),
                "the scope closed while this value was set up",
            ));
        }
        state.order.push(entry);
        Ok(value)
    }

    pub(crate) fn mark_setup_failed(&self) {
        self.state().setup_failed = true;
    }

    pub(crate) fn setup_failed(&self) -> bool {
        self.state().setup_failed
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Marks the scope closed and takes its entries, with the outcome adjusted
    /// for a provider failure in this scope.
    fn take_entries(&self, outcome: Outcome) -> Option<(Vec<Entry>, Outcome)> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        state.closed = true;
        let outcome = match outcome {
            Outcome::Success | Outcome::ErrorResponse { .. } if state.setup_failed => Outcome::SetupFailed,
            other => other,
        };
        Some((std::mem::take(&mut state.order), outcome))
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
        let Some((entries, outcome)) = self.take_entries(outcome) else {
            return Ok((Ok(()), None));
        };
        let stop = match all {
            true => 0,
            false => entries
                .iter()
                .position(|entry| entry.has_teardown() && entry.timing == TeardownTiming::BeforeResponse)
                .unwrap_or(entries.len()),
        };
        let mut teardowns = Teardowns::new(entries, stop, outcome, self.traced());
        match teardowns.poll_advance(cx) {
            Poll::Ready(()) => Ok(teardowns.finish(&self.app)),
            Poll::Pending => Err(Box::new(Closing { app: self.app.clone(), teardowns })),
        }
    }

    /// Closes the scope and runs every teardown before returning (scopes opened
    /// by hand).
    pub(crate) async fn close_all(&self, outcome: Outcome) -> Result<(), TeardownErrors> {
        let mut closing = None;
        std::future::poll_fn(|cx| match closing.as_mut() {
            None => match self.close(outcome, true, cx) {
                Ok((result, _)) => Poll::Ready(result),
                Err(pending) => {
                    closing = Some(pending);
                    Poll::Pending
                }
            },
            Some(pending) => pending.poll_close(cx).map(|(result, _)| result),
        })
        .await
    }

    /// Closes the scope without waiting: teardown runs on the app's worker.
    pub(crate) fn abandon(&self, outcome: Outcome) {
        if let Some((entries, outcome)) = self.take_entries(outcome) {
            self.app.inner().deferred.send(Job::new(entries, outcome));
        }
    }
}

impl<R: Registry> Drop for ScopeInner<R> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !state.closed && !state.order.is_empty() {
            state.closed = true;
            let entries = std::mem::take(&mut state.order);
            self.app.inner().deferred.send(Job::new(entries, Outcome::Cancelled));
        }
    }
}

/// What closing a scope produced: the teardown failures, and the teardowns
/// left for after the response.
#[doc(hidden)]
pub type Closed<R> = (Result<(), TeardownErrors>, Option<Remainder<R>>);

/// A scope being closed whose teardowns did not all finish at once: poll it
/// with [`poll_close`](Closing::poll_close). Dropped before it finished (the request's future was
/// dropped), what it had not run yet goes to the app's worker with
/// [`Outcome::Cancelled`].
#[doc(hidden)]
pub struct Closing<R: Registry> {
    app: App<R>,
    teardowns: Teardowns,
}

impl<R: Registry> Closing<R> {
    /// Polls the teardowns left, last to first; once they are done, hands
    /// over what is left for after the response. Not to be polled again after
    /// it returned `Ready`.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Closed<R>> {
        ready!(self.teardowns.poll_advance(cx));
        let done = Teardowns::new(Vec::new(), 0, Outcome::Cancelled, false);
        let teardowns = std::mem::replace(&mut self.teardowns, done);
        Poll::Ready(teardowns.finish(&self.app))
    }
}

impl<R: Registry> Drop for Closing<R> {
    fn drop(&mut self) {
        // The request went away while its teardowns ran: the one in progress
        // runs to its end, and the rest run with `Cancelled`, on the app's worker.
        let interrupted = self.teardowns.running.take();
        let entries = std::mem::take(&mut self.teardowns.entries);
        if interrupted.is_some() || !entries.is_empty() {
            self.app.inner().deferred.send(Job { interrupted, entries, outcome: Outcome::Cancelled });
        }
    }
}

/// The teardowns of a closing scope.
struct Teardowns {
    /// In setup order; `entries[stop..]` are still to tear down now.
    entries: Vec<Entry>,
    stop: usize,
    outcome: Outcome,
    /// Teardowns run in spans.
    traced: bool,
    errors: Vec<TeardownError>,
    /// The teardown in progress.
    running: Option<Running>,
    /// A value is still held (by a streaming body, a WebSocket, a task): it
    /// and everything set up before it go to the app's worker.
    held: bool,
}

impl Teardowns {
    /// `entries[stop..]` to tear down, last to first, with `outcome`.
    fn new(entries: Vec<Entry>, stop: usize, outcome: Outcome, traced: bool) -> Self {
        Self { entries, stop, outcome, traced, errors: Vec::new(), running: None, held: false }
    }

    /// Runs the teardowns, last to first, polling each with `cx`: `Ready`
    /// when none is left to run now (or a value is still held), `Pending`
    /// while one is in progress. The one in progress stays in `self`, so that
    /// a request dropped in the middle of it hands it to the app's worker
    /// instead of cutting it short.
    fn poll_advance(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if let Some(running) = self.running.as_mut() {
                let result = ready!(running.poll(cx));
                self.running = None;
                self.record(result);
            }
            if self.entries.len() <= self.stop {
                return Poll::Ready(());
            }
            let Some(entry) = self.entries.pop() else { return Poll::Ready(()) };
            if entry.has_teardown() && entry.in_use() {
                self.entries.push(entry);
                self.held = true;
                return Poll::Ready(());
            }
            self.running = entry.start(self.outcome, self.traced);
        }
    }

    fn record(&mut self, result: Result<(), TeardownError>) {
        if let Err(error) = result {
            self.errors.push(error);
        }
    }

    /// The failures, and what is left for after the response.
    fn finish<R: Registry>(self, app: &App<R>) -> Closed<R> {
        let Self { entries, outcome, errors, held, .. } = self;
        let result = TeardownErrors::report(errors);
        if held {
            // What is left of the before-response part and the whole
            // after-response part run in one job, in order, once each value
            // is released.
            app.inner().deferred.send(Job::new(entries, outcome));
            return (result, None);
        }
        // Values without teardown need nothing after the response: they are
        // dropped here, and the body is not wrapped.
        let remainder =
            entries.iter().any(Entry::has_teardown).then(|| Remainder { app: app.clone(), entries, outcome });
        (result, remainder)
    }
}

/// The teardowns left for after the response: hand them over with
/// [`finish`](Remainder::finish) when the body is done. Dropped without
/// `finish`, they run with [`Outcome::Cancelled`].
#[doc(hidden)]
pub struct Remainder<R: Registry> {
    app: App<R>,
    entries: Vec<Entry>,
    outcome: Outcome,
}

impl<R: Registry> Remainder<R> {
    /// The outcome decided for the response.
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Runs the remaining teardowns on the app's worker with `outcome`.
    pub fn finish(mut self, outcome: Outcome) {
        let entries = std::mem::take(&mut self.entries);
        self.app.inner().deferred.send(Job::new(entries, outcome));
    }
}

impl<R: Registry> Drop for Remainder<R> {
    fn drop(&mut self) {
        if !self.entries.is_empty() {
            let entries = std::mem::take(&mut self.entries);
            self.app.inner().deferred.send(Job::new(entries, Outcome::Cancelled));
        }
    }
}

/// A scope opened by hand: for CLI jobs, workers and tests.
///
/// Obtained from [`App::scope`]. Resolve values with [`get`](Scope::get) and
/// [`get_mut`](Scope::get_mut), then [`close`](Scope::close) it to run their
/// teardown. A scope dropped without `close` is torn down in the background
/// with [`Outcome::Cancelled`].
pub struct Scope<R: Registry> {
    inner: Arc<ScopeInner<R>>,
}

impl<R: Registry> Scope<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        Self { inner: Arc::new(ScopeInner::new(app)) }
    }

    /// Shared access to the scope's `T`, set up on first use.
    ///
    /// # Errors
    ///
    /// When a provider fails, when `T` is exclusively borrowed, or when a provider
    /// on the way needs the HTTP request.
    pub async fn get<T>(&mut self) -> Result<Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: Send + Sync + 'static,
        <R as Provides<T>>::Access: Shareable,
    {
        self.inner.resolver(None).shared::<T>().await
    }

    /// Exclusive access to the scope's `T`, set up on first use.
    ///
    /// # Errors
    ///
    /// As [`get`](Scope::get), and when `T` is already borrowed.
    pub async fn get_mut<T>(&mut self) -> Result<DepMut<T>, ProviderError>
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: StoreAs<T>,
        T: Send + 'static,
        <R as Provides<T>>::Scope: Exclusive,
    {
        self.inner.resolver(None).exclusive::<T>().await
    }

    /// Closes the scope: every value set up in it is torn down, in reverse order
    /// of setup, with `outcome` (or [`Outcome::SetupFailed`] if a provider failed).
    ///
    /// A value still held by a `Dep` is torn down in the background when
    /// released, with every value set up before it.
    ///
    /// # Errors
    ///
    /// Every teardown that failed; all of them ran.
    pub async fn close(self, outcome: Outcome) -> Result<(), TeardownErrors> {
        self.inner.close_all(outcome).await
    }
}

impl<R: Registry> Drop for Scope<R> {
    fn drop(&mut self) {
        if !self.inner.is_closed() {
            self.inner.abandon(Outcome::Cancelled);
        }
    }
}

tokio::task_local! {
    /// The request scope of the request being handled on this task: set by
    /// the providers layer around its inner service, read by the extractors.
    /// (A task-local rather than a request extension: no allocation per
    /// request, and nothing for other layers to remove or replace.)
    static CURRENT: Arc<dyn Any + Send + Sync>;
}

/// A future run with a request scope as the current one ([`SharedScope::enter`]).
#[doc(hidden)]
pub type CurrentScopeFuture<F> = tokio::task::futures::TaskLocalFuture<Arc<dyn Any + Send + Sync>, F>;

/// A request scope shared between the tower layer and the extractors.
#[doc(hidden)]
pub struct SharedScope<R: Registry>(Arc<ScopeInner<R>>);

impl<R: Registry> Clone for SharedScope<R> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<R: Registry> SharedScope<R> {
    /// Opens a request scope of `app`.
    #[must_use]
    pub fn open(app: &App<R>) -> Self {
        Self(Arc::new(ScopeInner::new(app.clone())))
    }

    /// A resolver over this scope with `context` (the request's parts).
    pub fn resolver<'r>(&'r self, context: &'r mut (dyn Any + Send)) -> Resolver<'r, R> {
        self.0.resolver(Some(context))
    }

    /// The scope of the request handled by the current task, if a providers
    /// layer of registry `R` is handling it.
    #[must_use]
    pub fn current() -> Option<Self> {
        CURRENT
            .try_with(|current| Arc::clone(current).downcast::<ScopeInner<R>>().ok())
            .ok()
            .flatten()
            .map(Self)
    }

    /// Runs `call` with the current task's request scope of registry `R`,
    /// borrowed: `None` when there is none.
    #[cfg(feature = "axum")]
    #[inline]
    pub(crate) fn with_current<T>(call: impl FnOnce(&ScopeInner<R>) -> T) -> Option<T> {
        CURRENT.try_with(|current| current.downcast_ref::<ScopeInner<R>>().map(call)).ok().flatten()
    }

    /// Runs `future` with this scope as the current one.
    pub fn enter<F: std::future::Future>(&self, future: F) -> CurrentScopeFuture<F> {
        let current: Arc<dyn Any + Send + Sync> = self.0.clone();
        CURRENT.scope(current, future)
    }

    /// Tears down the before-response part, polling each teardown with
    /// `cx`; when one is still in progress, the rest is to be polled with
    /// [`Closing::poll_close`].
    ///
    /// # Errors
    ///
    /// The [`Closing`] to poll when a teardown did not finish at once.
    pub fn close_before_response(
        &self,
        outcome: Outcome,
        cx: &mut Context<'_>,
    ) -> Result<Closed<R>, Box<Closing<R>>> {
        self.0.close(outcome, false, cx)
    }

    /// Closes without waiting (teardown runs on the app's worker).
    pub fn abandon(&self, outcome: Outcome) {
        self.0.abandon(outcome);
    }

    /// `true` once closed.
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

#[cfg(test)]
mod tests {
    use crate::scope::{AppScope, RequestScope, Scope as ScopeMarker, ScopeKind, TransientScope};

    #[test]
    fn markers_name_their_kind() {
        assert_eq!(<AppScope as ScopeMarker>::KIND, ScopeKind::App);
        assert_eq!(<RequestScope as ScopeMarker>::KIND, ScopeKind::Request);
        assert_eq!(<TransientScope as ScopeMarker>::KIND, ScopeKind::Transient);
        assert_eq!(ScopeKind::Transient.as_str(), "transient");
    }
}
