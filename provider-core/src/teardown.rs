//! Setup and teardown written in one function.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::FutureExt as _;
use parking_lot::Mutex;

use crate::error::{BoxError, TeardownError};
use crate::outcome::Outcome;

/// A boxed, sendable future.
#[doc(hidden)]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A teardown with its value's type erased: the closure, then the future it
/// returns, in one allocation ([`Stage`]).
type TeardownFn = Pin<Box<dyn TeardownState + Send>>;

/// What the scope does with an erased teardown: hand it the value, then poll
/// it as a future.
trait TeardownState: Future<Output = Result<(), BoxError>> {
    /// Hands over the value and the outcome, from a `&mut Option<(T, Outcome)>`
    /// passed as `&mut dyn Any`. The closure runs at the first poll.
    fn hand_over(self: Pin<&mut Self>, slot: &mut dyn Any);
}

pin_project_lite::pin_project! {
    /// A teardown closure waiting for its value, then the future it returned,
    /// in place.
    #[project = StageProjection]
    enum Stage<T, F, Fut> {
        Waiting { teardown: Option<F>, handed: Option<(T, Outcome)> },
        Running { #[pin] future: Fut },
    }
}

impl<T, F, Fut> TeardownState for Stage<T, F, Fut>
where
    T: 'static,
    F: FnOnce(T, Outcome) -> Fut,
    Fut: Future,
    Fut::Output: TeardownResult,
{
    fn hand_over(self: Pin<&mut Self>, slot: &mut dyn Any) {
        if let StageProjection::Waiting { handed, .. } = self.project() {
            *handed = slot.downcast_mut::<Option<(T, Outcome)>>().and_then(Option::take);
        }
    }
}

impl<T, F, Fut> Future for Stage<T, F, Fut>
where
    F: FnOnce(T, Outcome) -> Fut,
    Fut: Future,
    Fut::Output: TeardownResult,
{
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                StageProjection::Waiting { teardown, handed } => match (teardown.take(), handed.take()) {
                    (Some(teardown), Some((value, outcome))) => {
                        let future = teardown(value, outcome);
                        self.set(Self::Running { future });
                    }
                    _ => return Poll::Ready(Err("the value to tear down has an unexpected type".into())),
                },
                StageProjection::Running { future } => {
                    return future.poll(cx).map(TeardownResult::into_teardown_result);
                }
            }
        }
    }
}

/// A provided value together with the code that tears it down.
///
/// Return it from a provider (alone or inside `Result`) to get teardown: the
/// consumers receive the value, and when its scope closes the closure gets the
/// value back, by value, with the [`Outcome`] of the scope. This is the stable
/// Rust spelling of a `yield` fixture: setup above `Teardown::new`, teardown in
/// the closure.
///
/// The closure's future may return `()` or `Result<(), E>`; an error is
/// collected and logged with the provider's name, and never stops the other
/// teardowns of the scope.
///
/// ```
/// use axum_providers_core::{Outcome, Teardown};
///
/// struct Connection;
/// impl Connection {
///     async fn commit(self) -> Result<(), std::io::Error> { Ok(()) }
///     async fn rollback(self) -> Result<(), std::io::Error> { Ok(()) }
/// }
///
/// fn connection() -> Teardown<Connection> {
///     Teardown::new(Connection, |conn, outcome: Outcome| async move {
///         if outcome.is_success() { conn.commit().await } else { conn.rollback().await }
///     })
/// }
/// # let _ = connection();
/// ```
pub struct Teardown<T> {
    value: T,
    teardown: TeardownFn,
}

impl<T: Send + 'static> Teardown<T> {
    /// Pairs `value` with its teardown.
    pub fn new<F, Fut>(value: T, teardown: F) -> Self
    where
        F: FnOnce(T, Outcome) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TeardownResult,
    {
        Self { value, teardown: Box::pin(Stage::Waiting { teardown: Some(teardown), handed: None }) }
    }

    /// The value, for inspection before it is handed to consumers.
    pub fn value(&self) -> &T {
        &self.value
    }
}

impl<T> std::fmt::Debug for Teardown<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teardown").field("value", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}

/// What a teardown closure's future may return: `()` or `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "a teardown must return `()` or `Result<(), E>`, not `{Self}`",
    label = "returned by this teardown",
    note = "`E` must convert into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait TeardownResult {
    /// Converts into the common form.
    fn into_teardown_result(self) -> Result<(), BoxError>;
}

impl TeardownResult for () {
    fn into_teardown_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> TeardownResult for Result<(), E> {
    fn into_teardown_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// What a provider's setup produced: the value and, maybe, its teardown.
#[doc(hidden)]
pub struct Produced<T> {
    value: T,
    teardown: Option<TeardownFn>,
}

impl<T: Send + 'static> Produced<T> {
    /// A value without teardown.
    pub fn value(value: T) -> Self {
        Self { value, teardown: None }
    }

    /// A value with teardown.
    pub fn with_teardown(teardown: Teardown<T>) -> Self {
        Self { value: teardown.value, teardown: Some(teardown.teardown) }
    }
}

/// How values of an access kind are stored in a scope: shared values (app,
/// request and transient) as `Arc<T>`, so that a `Dep<T>` is one reference
/// count; exclusive ones as `Arc<Mutex<T>>` (one `DepMut` at a time; `T` need
/// not be `Sync`).
#[diagnostic::on_unimplemented(
    message = "`{T}` is not `Sync`, so it cannot be shared through `Dep<{T}>`",
    label = "the provided type must be `Sync` to be shared",
    note = "mark the provider `#[provider(exclusive)]`: its value is then handed to one consumer at a time, as `DepMut<{T}>`, and need only be `Send`"
)]
pub trait StoreAs<T>: crate::scope::Access {
    /// Type-erases `produced`.
    #[doc(hidden)]
    fn erase(produced: Produced<T>) -> Erased;
}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> StoreAs<T> for crate::scope::SharedAccess {
    fn erase(produced: Produced<T>) -> Erased {
        let Produced { value, teardown } = produced;
        Erased {
            value: Arc::new(value),
            teardown: teardown.map(|run| ErasedTeardown { run, unwrap: run_with::<T, T> }),
            released: released_by_polling,
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> StoreAs<T> for crate::scope::ExclusiveAccess {
    fn erase(produced: Produced<T>) -> Erased {
        let Produced { value, teardown } = produced;
        Erased {
            value: Arc::new(Mutex::new(value)),
            teardown: teardown.map(|run| ErasedTeardown { run, unwrap: run_with::<Mutex<T>, T> }),
            released: released_by_polling,
        }
    }
}

/// Values of this access can be borrowed exclusively with `DepMut<T>`: those
/// of `#[provider(exclusive)]` providers.
#[diagnostic::on_unimplemented(
    message = "`DepMut<{T}>` needs a provider marked `#[provider(exclusive)]`",
    label = "the provider of `{T}` shares its value: ask for `Dep<{T}>`",
    note = "a shared value is read through `Dep<T>` by all its consumers; to hand a request or transient value to one consumer at a time for mutation, mark its provider `#[provider(exclusive)]` (it is then only available as `DepMut<T>`); app-scoped values are always shared: put a lock or a pool inside `T`"
)]
pub trait Lendable<T>: crate::scope::Access {
    /// Borrows a stored value exclusively, without waiting: `None` when it is
    /// already borrowed (or has another type).
    #[doc(hidden)]
    fn lend_mut(stored: Stored) -> Option<crate::dep::DepMut<T>>;
}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> Lendable<T> for crate::scope::ExclusiveAccess {
    fn lend_mut(stored: Stored) -> Option<crate::dep::DepMut<T>> {
        let mutex = stored.downcast::<Mutex<T>>().ok()?;
        mutex.try_lock_arc().map(crate::dep::DepMut::locked)
    }
}

/// How a stored value of type `S` gives back the `T` its teardown receives.
trait IntoValue<T> {
    fn into_value(self) -> T;
}

impl<T> IntoValue<T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl<T> IntoValue<T> for Mutex<T> {
    fn into_value(self) -> T {
        self.into_inner()
    }
}

/// Takes the `T` out of a stored `S` and hands it to the erased teardown.
fn run_with<S, T>(
    stored: Stored,
    run: TeardownFn,
    outcome: Outcome,
) -> BoxFuture<'static, Result<(), BoxError>>
where
    S: IntoValue<T> + Send + Sync + 'static,
    T: 'static,
{
    match unwrap_stored::<S>(stored) {
        Ok(stored) => {
            let mut run = run;
            run.as_mut().hand_over(&mut Some((stored.into_value(), outcome)));
            run
        }
        Err(error) => Box::pin(std::future::ready(Err(error))),
    }
}

fn unwrap_stored<T: Send + Sync + 'static>(stored: Stored) -> Result<T, BoxError> {
    let typed = stored.downcast::<T>().map_err(|_| "stored value has an unexpected type")?;
    Arc::try_unwrap(typed).map_err(|_| "value still in use at teardown".into())
}

/// Resolves once only the entry holds the value: every `Dep`/`DepMut` (each
/// holds a clone of the `Arc`) is gone. Used only for values still held when
/// their scope closed (a stream, a WebSocket, a task) and at shutdown, so it
/// polls, backing off to 50 ms.
fn released_by_polling(stored: &Stored) -> BoxFuture<'static, ()> {
    let weak = Arc::downgrade(stored);
    Box::pin(async move {
        let mut wait = Duration::from_millis(1);
        while weak.strong_count() > 1 {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(50));
        }
    })
}

/// A type-erased stored value.
#[doc(hidden)]
pub type Stored = Arc<dyn Any + Send + Sync>;

/// A teardown and the function that unwraps the stored value for it.
pub(crate) struct ErasedTeardown {
    run: TeardownFn,
    unwrap: fn(Stored, TeardownFn, Outcome) -> BoxFuture<'static, Result<(), BoxError>>,
}

/// A type-erased product of setup.
#[doc(hidden)]
pub struct Erased {
    pub(crate) value: Stored,
    pub(crate) teardown: Option<ErasedTeardown>,
    pub(crate) released: fn(&Stored) -> BoxFuture<'static, ()>,
}

impl Erased {
    /// The entry remembered by the scope, in setup order.
    pub(crate) fn into_entry(
        self,
        provider: &'static str,
        timing: TeardownTiming,
        cached_as: Option<usize>,
    ) -> (Stored, Entry) {
        let Self { value, teardown, released } = self;
        let entry = Entry { provider, value: Arc::clone(&value), teardown, released, timing, cached_as };
        (value, entry)
    }
}

/// When a request-scoped or transient value is torn down, chosen per provider
/// with `#[provider(teardown = ..)]`.
///
/// Teardown always runs in strict reverse order of setup. The before-response
/// part is therefore everything set up from the first `BeforeResponse` value on:
/// an `AfterResponse` value set up after a `BeforeResponse` one is torn down
/// before the response too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeardownTiming {
    /// Before the response is sent (the default): a failing teardown turns a
    /// success response into a `500`, so no client is told "stored" for data
    /// that was not. Use it for commits.
    #[default]
    BeforeResponse,
    /// After the response body finished (or was dropped): cleanup that need
    /// not delay the client. Its failures are logged.
    AfterResponse,
}

/// A value set up in a scope, remembered in setup order for teardown.
pub(crate) struct Entry {
    pub(crate) provider: &'static str,
    value: Stored,
    teardown: Option<ErasedTeardown>,
    released: fn(&Stored) -> BoxFuture<'static, ()>,
    pub(crate) timing: TeardownTiming,
    /// The provider index a request-scoped value is cached under (`None` for
    /// transient and app values).
    pub(crate) cached_as: Option<usize>,
}

impl Entry {
    /// Another handle to the value.
    pub(crate) fn stored(&self) -> Stored {
        Arc::clone(&self.value)
    }

    /// `true` when the entry has a teardown.
    pub(crate) fn has_teardown(&self) -> bool {
        self.teardown.is_some()
    }

    /// `true` while a `Dep`/`DepMut` (or a slot) still holds the value.
    pub(crate) fn in_use(&self) -> bool {
        Arc::strong_count(&self.value) > 1
    }

    /// Resolves when no `Dep`/`DepMut` holds the value any more.
    pub(crate) fn released(&self) -> BoxFuture<'static, ()> {
        (self.released)(&self.value)
    }

    /// Starts the teardown (in a `provider.teardown` span when `traced`):
    /// `None` when there is none to run (the value is dropped here).
    pub(crate) fn start(self, outcome: Outcome, traced: bool) -> Option<Running> {
        let Self { provider, value, teardown, .. } = self;
        let run = teardown?;
        let span = traced.then(|| {
            let span = tracing::debug_span!(
                "provider.teardown",
                provider,
                %outcome,
                elapsed_us = tracing::field::Empty,
                ok = tracing::field::Empty,
            );
            Box::new((span, std::time::Instant::now()))
        });
        let future = AssertUnwindSafe((run.unwrap)(value, run.run, outcome)).catch_unwind();
        Some(Running { provider, future, span })
    }

    /// Runs the teardown (or just drops a value that has none). A panicking
    /// teardown is reported as a failure of that teardown.
    pub(crate) async fn finish(self, outcome: Outcome) -> Result<(), TeardownError> {
        // A span only when someone listens (see `resolver::traced`).
        match self.start(outcome, tracing::enabled!(tracing::Level::DEBUG)) {
            Some(running) => running.finish().await,
            None => Ok(()),
        }
    }
}

/// A teardown in progress, started by [`Entry::start`]. Whoever holds it
/// (the closing scope, or the app's worker when the request went away in the
/// middle of it) polls it to the end: a teardown is never cut short.
pub(crate) struct Running {
    provider: &'static str,
    future: futures_util::future::CatchUnwind<AssertUnwindSafe<BoxFuture<'static, Result<(), BoxError>>>>,
    /// Only when spans are recorded: boxed, to keep the common case small.
    span: Option<Box<(tracing::Span, std::time::Instant)>>,
}

impl Running {
    /// The provider whose teardown this is.
    pub(crate) fn provider(&self) -> &'static str {
        self.provider
    }

    /// Polls the teardown, inside its span.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TeardownError>> {
        let entered = self.span.as_ref().map(|spanned| spanned.0.enter());
        let caught = ready!(Pin::new(&mut self.future).poll(cx));
        drop(entered);
        if let Some(spanned) = &self.span {
            let (span, started) = &**spanned;
            span.record("elapsed_us", u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            span.record("ok", matches!(caught, Ok(Ok(()))));
        }
        let result = caught.unwrap_or_else(|_panic| Err("the teardown panicked".into()));
        Poll::Ready(result.map_err(|error| TeardownError { provider: self.provider, error }))
    }

    /// Awaits the teardown.
    pub(crate) async fn finish(mut self) -> Result<(), TeardownError> {
        std::future::poll_fn(|cx| self.poll(cx)).await
    }
}
