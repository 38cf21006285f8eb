//! The app container: builds app-scoped values, opens scopes, shuts down.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::concurrent::Plan;
use crate::deferred::Deferred;
use crate::error::{TeardownError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::Registry;
use crate::shutdown::{Cancellation, OpenScopes};
use crate::slot::SlotTable;
use crate::teardown::{BoxFuture, Entry, Stored};

/// How long, after a shutdown's deadline, the cancelled work gets to end
/// and its teardowns to run, before app teardown starts regardless: the
/// shutdown timeout, at most 5 s.
const MAX_CANCEL_GRACE: Duration = Duration::from_secs(5);

/// A value override: makes a value of the replaced provider's type.
pub(crate) type Replacement = Box<dyn Fn() -> BoxFuture<'static, Box<dyn Any + Send>> + Send + Sync>;

/// What replaces a provider in one container.
pub(crate) enum Override<R: Registry> {
    /// `override_value`, `override_with`: a value, without dependencies or
    /// teardown.
    Value(Replacement),
    /// `override_provider`: another provider of the same type, set up as any
    /// provider (its dependencies, its teardown).
    Provider(crate::provider::SetupFn<R>),
}

/// The app container of registry `R`: the app-scoped values, the overrides,
/// and the door to request scopes.
///
/// Cheap to clone (a handle). Two containers, of the same registry or not, share
/// nothing: there is no global state.
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct Greeting(String);
///
/// #[provider(scope = app)]
/// fn greeting() -> Greeting {
///     Greeting("hello".into())
/// }
///
/// #[providers(greeting)]
/// struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?; // sets `Greeting` up
/// assert_eq!(app.get::<Greeting>().await?.0, "hello");
/// let scope = app.scope();
/// scope.close(Outcome::Success).await?;
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct App<R: Registry> {
    pub(crate) inner: Arc<AppInner<R>>,
}

impl<R: Registry> Clone for App<R> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<R: Registry> std::fmt::Debug for App<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("registry", &std::any::type_name::<R>())
            .field("providers", &R::PROVIDERS.len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct AppInner<R: Registry> {
    /// The app-scoped values: a value with a teardown is owned by its
    /// teardown entry (so that the teardown can take it back at shutdown,
    /// while the container stays usable) and lent by its slot; the others
    /// are owned by their slot.
    pub(crate) slots: R::Slots,
    pub(crate) deferred: Deferred,
    entries: Mutex<Vec<Entry>>,
    pub(crate) overrides: Option<Box<[Option<Override<R>>]>>,
    /// What concurrent setup knows of the providers (with the overrides).
    pub(crate) plan: Plan,
    shutdown_timeout: Duration,
    /// The app-wide request deadline ([`AppBuilder::request_deadline`](crate::AppBuilder::request_deadline)).
    pub(crate) request_deadline: Option<Duration>,
    pub(crate) scopes: OpenScopes,
    cancellation: Cancellation,
    /// Set once every app-scoped value was set up: from then on, an
    /// app-scoped dependency is always ready.
    built: AtomicBool,
    /// Set when a shutdown starts.
    shutting_down: AtomicBool,
    /// Set when app teardown starts: app values with a teardown are no
    /// longer handed out.
    tearing_down: AtomicBool,
    /// Held for the whole of a shutdown: a second one waits for the first.
    shutdown: tokio::sync::Mutex<()>,
    _registry: PhantomData<fn() -> R>,
}

impl<R: Registry> AppInner<R> {
    /// A container with no value set up yet.
    pub(crate) fn new(overrides: Option<Box<[Option<Override<R>>]>>, shutdown_timeout: Duration) -> Self {
        Self {
            slots: R::Slots::empty(),
            deferred: Deferred::start(),
            entries: Mutex::new(Vec::new()),
            plan: Plan::new::<R>(overrides.as_deref()),
            overrides,
            shutdown_timeout,
            request_deadline: None,
            scopes: OpenScopes::default(),
            cancellation: Cancellation::default(),
            built: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            tearing_down: AtomicBool::new(false),
            shutdown: tokio::sync::Mutex::new(()),
            _registry: PhantomData,
        }
    }

    /// Marks every app-scoped value set up.
    pub(crate) fn mark_built(&self) {
        self.built.store(true, Ordering::Release);
    }

    /// Remembers the teardown entry of an app-scoped value just set up.
    pub(crate) fn push(&self, entry: Entry) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
    }

    /// The app-scoped value of provider `index`, type-erased: `None` before
    /// it was set up, and once app teardown started.
    pub(crate) fn value(&self, index: usize) -> Option<Stored> {
        if self.is_tearing_down() {
            return None;
        }
        (R::PROVIDERS[index].stored)(&self.slots)
    }

    /// `true` once app teardown started: values with a teardown are no
    /// longer handed out.
    #[inline]
    pub(crate) fn is_tearing_down(&self) -> bool {
        self.tearing_down.load(Ordering::Acquire)
    }

    /// `true` once every app-scoped value was set up (by `build`).
    #[inline]
    pub(crate) fn is_built(&self) -> bool {
        self.built.load(Ordering::Relaxed)
    }

    /// `true` once a shutdown started.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Takes the app value set up last, for teardown.
    fn pop_entry(&self) -> Option<Entry> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// `true` once provider `index`'s value was set up (torn down since or not).
    pub(crate) fn was_set_up(&self, index: usize) -> bool {
        (R::PROVIDERS[index].is_set)(&self.slots)
    }

    pub(crate) fn take_entries(&self) -> Vec<Entry> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<R: Registry> Drop for AppInner<R> {
    fn drop(&mut self) {
        let entries = self.entries.get_mut().unwrap_or_else(PoisonError::into_inner);
        let skipped: Vec<_> = entries.iter().filter(|e| e.has_teardown()).map(|e| e.provider).collect();
        if !skipped.is_empty() {
            tracing::warn!(
                providers = ?skipped,
                "app container dropped without `shutdown()`: app-scoped teardown did not run"
            );
        }
    }
}

impl<R: Registry> App<R> {
    pub(crate) fn inner(&self) -> &AppInner<R> {
        &self.inner
    }

    /// Signals the cancellation of the work still running when a shutdown's
    /// deadline passes ([`shutdown_by`](App::shutdown_by)).
    #[must_use]
    pub fn cancellation(&self) -> Cancellation {
        self.inner.cancellation.clone()
    }

    /// How many scopes are open: requests in progress (with their bodies
    /// while after-response teardowns wait for them) and scopes opened by hand.
    #[must_use]
    pub fn open_scopes(&self) -> usize {
        self.inner.scopes.count()
    }

    /// How long a shutdown may wait for work in progress (the builder's
    /// [`shutdown_timeout`](crate::AppBuilder::shutdown_timeout), 30 s by default).
    #[must_use]
    pub fn shutdown_timeout(&self) -> Duration {
        self.inner.shutdown_timeout
    }

    /// The app-wide request deadline (the builder's
    /// [`request_deadline`](crate::AppBuilder::request_deadline); `None`, the
    /// default: requests have no deadline unless a route gives them one).
    #[must_use]
    pub fn request_deadline(&self) -> Option<Duration> {
        self.inner.request_deadline
    }

    /// Shuts the container down with the deadline `shutdown_timeout` from now:
    /// see [`shutdown_by`](App::shutdown_by).
    ///
    /// # Errors
    ///
    /// As [`shutdown_by`](App::shutdown_by).
    pub async fn shutdown(&self) -> Result<(), TeardownErrors> {
        self.shutdown_by(Instant::now() + self.inner.shutdown_timeout).await
    }

    /// Shuts the container down: waits for open scopes (requests, streams,
    /// WebSockets, scopes opened by hand) and their teardowns until
    /// `deadline`, then tears down every app-scoped value in reverse order of
    /// setup, with [`Outcome::Shutdown`].
    ///
    /// At the deadline, the work still running is cancelled
    /// ([`cancellation`](App::cancellation): the axum integration's `serve`
    /// answers the requests still running with `503` and ends streaming
    /// bodies and WebSockets), and its scopes close with
    /// [`Outcome::Cancelled`]; their teardowns get a grace (the shutdown
    /// timeout, at most 5 s), then app teardown starts regardless and an
    /// error log names what was not torn down. An app value still held by a
    /// `Dep` is waited for in the same way (a warning names it at once), and
    /// each app teardown must finish by the end of the grace. When the
    /// shutdown is over, the cancellation fires in any case: what still runs
    /// (a socket holding no value with a teardown) is cut.
    ///
    /// A second call waits for the first and then does nothing; a call whose
    /// future was dropped is resumed by the next one.
    ///
    /// The container stays usable for reading: values without teardown can
    /// still be had with [`get`](App::get); those whose teardown ran cannot,
    /// nor can they from the moment app teardown starts.
    ///
    /// # Errors
    ///
    /// Every app-scoped teardown that failed (all of them ran), and those
    /// that could not run because their value was still in use.
    pub async fn shutdown_by(&self, deadline: Instant) -> Result<(), TeardownErrors> {
        let inner = &*self.inner;
        // A second shutdown waits for the first, then finds nothing to do; a
        // shutdown whose future was dropped is resumed by the next one.
        let _one_at_a_time = inner.shutdown.lock().await;
        inner.shutting_down.store(true, Ordering::SeqCst);
        let grace = inner.shutdown_timeout.min(MAX_CANCEL_GRACE);
        let deadline = Deadline { at: deadline, grace, cancellation: &inner.cancellation };
        // Requests (and every other open scope) close, each handing its
        // remaining teardowns to the app's worker.
        if !deadline.wait(inner.scopes.idle(), "request scopes still open").await {
            tracing::error!(
                open_scopes = inner.scopes.count(),
                "scopes still open after the cancellation grace; their values will not be torn down"
            );
        }
        // Their teardowns, after-response and held values included.
        if !deadline
            .wait_for(
                |until| inner.deferred.drain(until),
                "request teardowns still waiting (values held by a stream, a WebSocket or a task)",
            )
            .await
        {
            tracing::error!(
                "request teardowns still waiting after the cancellation grace (values still held); \
                 continuing with app teardown"
            );
        }
        inner.tearing_down.store(true, Ordering::Release);
        let mut errors = Vec::new();
        let traced = tracing::enabled!(tracing::Level::DEBUG);
        while let Some(entry) = inner.pop_entry() {
            let provider = entry.provider;
            let running = match entry.start(Outcome::Shutdown, traced) {
                Ok(running) => running,
                Err(held) => {
                    let value = R::PROVIDERS
                        .iter()
                        .find(|entry| entry.name() == provider)
                        .map_or("?", |entry| entry.output_type());
                    let waits_s = deadline.last().saturating_duration_since(Instant::now()).as_secs_f32();
                    tracing::warn!(
                        provider,
                        value,
                        "app shutdown waits for `{value}` (provider `{provider}`): a `Dep` of it is still held \
                         (from `App::get`, a task or a scope); its teardown runs when it is dropped, or \
                         shutdown gives up on it in {waits_s:.1} s"
                    );
                    // Woken by the drop of the value's last handle.
                    let mut released = pin!(held.released());
                    let mut arrived = None;
                    let waited = async { arrived = Some(released.as_mut().await) };
                    deadline.wait(waited, "app values still held").await;
                    let Some(released) = arrived else {
                        tracing::error!(
                            provider,
                            "app-scoped value still in use at shutdown; its teardown did not run"
                        );
                        errors.push(TeardownError {
                            provider,
                            error: "value still in use at shutdown; teardown did not run".into(),
                        });
                        continue;
                    };
                    released.start(Outcome::Shutdown, traced)
                }
            };
            let Some(running) = running else { continue };
            match tokio::time::timeout_at(deadline.last(), running.finish()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => errors.push(error),
                Err(_) => {
                    tracing::error!(
                        provider,
                        "app-scoped teardown did not finish by the end of the shutdown grace"
                    );
                    errors.push(TeardownError { provider, error: "teardown did not finish in time".into() });
                }
            }
        }
        // Whatever still runs now (a socket holding nothing with a teardown)
        // is cut: the shutdown is over.
        inner.cancellation.cancel();
        TeardownErrors::report(errors)
    }
}

/// A shutdown's deadline: waits end at it, then the work still running is
/// cancelled and gets a grace to end.
struct Deadline<'a> {
    at: Instant,
    grace: Duration,
    cancellation: &'a Cancellation,
}

impl Deadline<'_> {
    /// The end of the grace after the deadline.
    fn last(&self) -> Instant {
        self.at + self.grace
    }

    /// Waits for `done` until the deadline; then cancels (saying what it
    /// waited for) and waits until the end of the grace. `false` if it still
    /// was not done.
    async fn wait(&self, done: impl Future<Output = ()>, waiting_for: &str) -> bool {
        let mut done = std::pin::pin!(done);
        if tokio::time::timeout_at(self.at, done.as_mut()).await.is_ok() {
            return true;
        }
        self.cancel(waiting_for);
        tokio::time::timeout_at(self.last(), done).await.is_ok()
    }

    /// As [`wait`](Self::wait), for a wait that takes its own end time.
    async fn wait_for<F: Future<Output = bool>>(
        &self,
        wait: impl Fn(Instant) -> F,
        waiting_for: &str,
    ) -> bool {
        if wait(self.at).await {
            return true;
        }
        self.cancel(waiting_for);
        wait(self.last()).await
    }

    fn cancel(&self, waiting_for: &str) {
        if !self.cancellation.is_cancelled() {
            tracing::warn!("shutdown deadline passed with {waiting_for}; cancelling them");
            self.cancellation.cancel();
        }
    }
}
