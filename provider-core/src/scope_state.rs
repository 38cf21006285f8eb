//! Scopes: the per-request (or hand-opened) cache of values and their teardown.

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use tokio::sync::oneshot;

use crate::app::App;
use crate::deferred::{Job, JobOutcome};
use crate::dep::{Dep, DepMut};
use crate::error::{ProviderError, ResponsePayload, TeardownError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::{Provides, Registry};
use crate::resolver::Resolver;
use crate::scope::{ScopeKind, Shareable};
use crate::teardown::{Entry, Erased, Lendable, Running, Stored, TeardownTiming};

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
    /// The outcome of an upgraded connection (a WebSocket), told later by
    /// whoever serves it ([`SharedScope::decide_outcome_later`]).
    later: Option<oneshot::Receiver<Outcome>>,
}

impl<R: Registry> ScopeInner<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        app.inner().scopes.open();
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
            self.app.inner().deferred.send(Job::new(vec![entry], Outcome::Cancelled.into()));
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
    /// for a provider failure in this scope, and the outcome to be told later.
    fn take_entries(&self, outcome: Outcome) -> Option<Taken> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        state.closed = true;
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
        if let Some(remainder) = closed.remainder {
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
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
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

/// What a teardown failure makes of a success, for the teardowns after it.
#[derive(Clone, Copy)]
enum OnFailure {
    /// Before the response: the response becomes the failure's
    /// ([`Respond`](crate::Respond)) or a `500`, and so does the outcome.
    Respond,
    /// A scope closed by hand: [`Outcome::Failed`].
    Fail,
}

/// What closing a scope produced.
#[doc(hidden)]
pub struct Closed<R: Registry> {
    /// The teardown failures.
    pub errors: Result<(), TeardownErrors>,
    /// The outcome the last teardown saw: the one the scope was closed with,
    /// unless a teardown failure turned a success into an error.
    pub outcome: Outcome,
    /// Set when a teardown failure turned a success into an error response:
    /// the response it chose ([`Respond`](crate::Respond)), if any, to send
    /// instead of the handler's.
    pub replaced: Option<Option<ResponsePayload>>,
    /// The teardowns left for after the response.
    pub remainder: Option<Remainder<R>>,
}

impl<R: Registry> Closed<R> {
    fn nothing(outcome: Outcome) -> Self {
        Self { errors: Ok(()), outcome, replaced: None, remainder: None }
    }
}

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
        let done = Teardowns::new(Vec::new(), 0, Outcome::Cancelled, OnFailure::Fail, false);
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
            self.app.inner().deferred.send(Job { interrupted, entries, outcome: Outcome::Cancelled.into() });
        }
    }
}

/// The teardowns of a closing scope.
struct Teardowns {
    /// In setup order; `entries[stop..]` are still to tear down now.
    entries: Vec<Entry>,
    stop: usize,
    /// The outcome the next teardown sees.
    outcome: Outcome,
    on_failure: OnFailure,
    /// Set when a failure turned a success into an error response.
    replaced: Option<Option<ResponsePayload>>,
    /// Teardowns run in spans.
    traced: bool,
    errors: Vec<TeardownError>,
    /// The teardown in progress.
    running: Option<Running>,
    /// The outcome of an upgraded connection, told later.
    later: Option<oneshot::Receiver<Outcome>>,
}

impl Teardowns {
    /// `entries[stop..]` to tear down, last to first, with `outcome`.
    fn new(entries: Vec<Entry>, stop: usize, outcome: Outcome, on_failure: OnFailure, traced: bool) -> Self {
        Self {
            entries,
            stop,
            outcome,
            on_failure,
            replaced: None,
            traced,
            errors: Vec::new(),
            running: None,
            later: None,
        }
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
                // Held by a streaming body, a WebSocket or a task: it and
                // everything set up before it wait for the response's end
                // (the remainder), which decides their outcome.
                self.entries.push(entry);
                return Poll::Ready(());
            }
            self.running = entry.start(self.outcome, self.traced);
        }
    }

    fn record(&mut self, result: Result<(), TeardownError>) {
        let Err(error) = result else { return };
        if self.outcome.is_success() {
            match self.on_failure {
                OnFailure::Respond => {
                    let (status, response) = error.take_response().unwrap_or((500, None));
                    tracing::error!(
                        provider = error.provider,
                        status,
                        "teardown failed after a successful response; answering {status} instead"
                    );
                    self.outcome = Outcome::ErrorResponse { status };
                    self.replaced = Some(response);
                }
                OnFailure::Fail => self.outcome = Outcome::Failed,
            }
        }
        self.errors.push(error);
    }

    /// The failures, the final outcome, and what is left for after the response.
    fn finish<R: Registry>(self, app: &App<R>) -> Closed<R> {
        let Self { entries, outcome, errors, replaced, later, .. } = self;
        let errors = TeardownErrors::report(errors);
        // Values without teardown need nothing after the response: they are
        // dropped here, and the body is not wrapped.
        let remainder = entries.iter().any(Entry::has_teardown).then(|| {
            // Counted as an open scope until its body ends: shutdown waits for it.
            app.inner().scopes.open();
            Remainder { app: app.clone(), entries, outcome, later }
        });
        Closed { errors, outcome, replaced, remainder }
    }
}

/// The teardowns left for after the response: the after-response values, and
/// any value still held when the response was ready (by a streaming body, a
/// WebSocket, a task) with everything set up before it. Hand them over with
/// [`finish`](Remainder::finish) when the body is done: each runs once its
/// value is released. Dropped without `finish` (the body was cut), they run
/// with [`Outcome::Cancelled`].
#[doc(hidden)]
pub struct Remainder<R: Registry> {
    app: App<R>,
    entries: Vec<Entry>,
    outcome: Outcome,
    later: Option<oneshot::Receiver<Outcome>>,
}

impl<R: Registry> Remainder<R> {
    /// The outcome decided for the response.
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Runs the remaining teardowns on the app's worker with `outcome` (what
    /// the client got: [`Outcome::Cancelled`] for a body that did not end),
    /// or, for a success whose connection was upgraded and whose outcome is
    /// told later, with that one.
    pub fn finish(mut self, outcome: Outcome) {
        let entries = std::mem::take(&mut self.entries);
        let outcome = match self.later.take() {
            Some(later) if outcome.is_success() => JobOutcome::Later(later),
            _ => outcome.into(),
        };
        self.app.inner().deferred.send(Job::new(entries, outcome));
    }
}

impl<R: Registry> Drop for Remainder<R> {
    fn drop(&mut self) {
        if !self.entries.is_empty() {
            let entries = std::mem::take(&mut self.entries);
            self.app.inner().deferred.send(Job::new(entries, Outcome::Cancelled.into()));
        }
        self.app.inner().scopes.close();
    }
}

/// Tells the outcome of an upgraded connection (a WebSocket) to the teardowns
/// of its request scope ([`SharedScope::decide_outcome_later`]). Dropped
/// without [`send`](OutcomeSender::send), the outcome is [`Outcome::Cancelled`].
#[derive(Debug)]
pub struct OutcomeSender(oneshot::Sender<Outcome>);

impl OutcomeSender {
    /// Tells the outcome.
    pub fn send(self, outcome: Outcome) {
        let _ = self.0.send(outcome);
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
        <R as Provides<T>>::Access: Lendable<T>,
        T: Send + 'static,
    {
        self.inner.resolver(None).exclusive::<T>().await
    }

    /// Closes the scope: every value set up in it is torn down, in reverse order
    /// of setup, with `outcome` (or [`Outcome::SetupFailed`] if a provider failed).
    ///
    /// A job closes with [`Outcome::Success`] when its work is done (a
    /// transaction then commits) and with [`Outcome::Failed`] when it failed
    /// (it rolls back). When a teardown fails during a successful close, the
    /// teardowns after it see [`Outcome::Failed`]: a commit that failed is not
    /// followed by commits of what was set up before it.
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

/// A request scope shared between the tower layer and the extractors: the
/// layer puts it in the request's extensions, so that it travels with the
/// request wherever a middleware moves it (`tokio::spawn`, tower's `Buffer`).
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

    /// The scope of a request, from its extensions, if a providers layer of
    /// registry `R` handles it.
    #[cfg(feature = "axum")]
    #[must_use]
    pub fn of(extensions: &http::Extensions) -> Option<Self> {
        extensions.get::<Self>().cloned()
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
