//! Setup and teardown written in one function.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use crate::error::{BoxError, TeardownError};
use crate::held::{self, Cell, ExclusiveCell, ReleasedValue, SharedCell};
use crate::outcome::Outcome;
use futures_util::FutureExt as _;
use tokio::sync::oneshot;

/// A boxed, sendable future.
#[doc(hidden)]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A teardown with its value's type erased: the closure, then the future it
/// returns, in one allocation ([`Stage`]).
pub(crate) type TeardownFn = Pin<Box<dyn TeardownState + Send>>;

/// What the scope does with an erased teardown: hand it the value, then poll
/// it as a future.
pub(crate) trait TeardownState: Future<Output = Result<(), BoxError>> {
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
/// use axum_providers::{Outcome, Teardown};
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
    pub(crate) value: T,
    pub(crate) teardown: Option<TeardownFn>,
}

impl<T: 'static> Produced<T> {
    /// A value without teardown.
    pub fn value(value: T) -> Self {
        Self { value, teardown: None }
    }

    /// A value with teardown.
    pub fn with_teardown(teardown: Teardown<T>) -> Self {
        Self { value: teardown.value, teardown: Some(teardown.teardown) }
    }
}

/// How values of an access kind are kept: shared values (app, request and
/// transient) as they are, read in place by every `Dep<T>` (one reference
/// count); exclusive ones behind a lock that lends them to one `DepMut` at a
/// time (`T` need not be `Sync`).
///
/// What each access asks of `T` is a trait of its own ([`SharedValue`],
/// [`ExclusiveValue`]), so that a type that falls short is reported with
/// the message of its access, once per place.
pub trait StoreAs<T>: crate::scope::Access {
    /// The allocation a value of this access lives in.
    #[doc(hidden)]
    type Cell: Cell<Value = T>;
}

impl<T: SharedValue> StoreAs<T> for crate::scope::SharedAccess {
    type Cell = SharedCell<T>;
}

impl<T: ExclusiveValue> StoreAs<T> for crate::scope::ExclusiveAccess {
    type Cell = ExclusiveCell<T>;
}

/// A type whose values can be shared through `Dep<T>` by the tasks of every
/// request: `Send + Sync`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Send + Sync`, so it cannot be shared through `Dep<{Self}>`",
    label = "the provided type must be `Send + Sync` to be shared",
    note = "mark the provider `#[provider(exclusive)]`: its value is then handed to one consumer at a time, as `DepMut<{Self}>`, and need only be `Send`",
    note = "an interface provided as `Arc<dyn Trait>` is `Send + Sync` when the trait is: declare it `trait Trait: Send + Sync`"
)]
pub trait SharedValue: Send + Sync + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> SharedValue for T {}

/// A type whose values can be lent through `DepMut<T>`, one task at a time:
/// `Send`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Send`, so it cannot be provided: a value is handed from task to task, even one lent through `DepMut<{Self}>`",
    label = "the provided type must be `Send`",
    note = "use a `Send` type: `Arc` rather than `Rc`, `Mutex` rather than `RefCell`; an interface provided as `Arc<dyn Trait>` needs `trait Trait: Send + Sync`"
)]
pub trait ExclusiveValue: Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> ExclusiveValue for T {}

/// Values of this access can be borrowed exclusively with `DepMut<T>`: those
/// of `#[provider(exclusive)]` providers.
#[diagnostic::on_unimplemented(
    message = "`DepMut<{T}>` needs a provider marked `#[provider(exclusive)]`",
    label = "the provider of `{T}` shares its value: ask for `Dep<{T}>`",
    note = "a shared value is read through `Dep<T>` by all its consumers; to hand a request or transient value to one consumer at a time for mutation, mark its provider `#[provider(exclusive)]` (it is then only available as `DepMut<T>`); app-scoped values are always shared: put a lock or a pool inside `T`"
)]
pub trait Lendable<T>: crate::scope::Access {}

#[diagnostic::do_not_recommend]
impl<T: Send + 'static> Lendable<T> for crate::scope::ExclusiveAccess {}

/// A type-erased handle to a provided value (an `Arc` of its [`Cell`]).
#[doc(hidden)]
pub type Stored = Arc<dyn Any + Send + Sync>;

/// Takes the value of `stored` (an `Arc<C>`) out of its only handle and
/// hands it to `run`; `stored` back while another handle holds it.
fn take_into<C: Cell>(stored: Stored, run: &mut TeardownFn, outcome: Outcome) -> Result<(), Stored> {
    let Ok(handle) = stored.downcast::<C>() else { return Ok(()) };
    match held::into_value(handle) {
        Ok(value) => {
            run.as_mut().hand_over(&mut value.map(|value| (value, outcome)));
            Ok(())
        }
        Err(handle) => Err(handle),
    }
}

/// Gives up `stored` (an `Arc<C>`): resolves with the value once its last
/// handle is dropped.
fn wait_for_release<C: Cell>(stored: Stored) -> Option<oneshot::Receiver<ReleasedValue>> {
    Some(held::release(stored.downcast::<C>().ok()?))
}

/// Hands a released value (a `C::Value`) to `run`.
fn give_to<C: Cell>(value: ReleasedValue, run: &mut TeardownFn, outcome: Outcome) {
    if let Ok(value) = value.downcast::<C::Value>() {
        run.as_mut().hand_over(&mut Some((*value, outcome)));
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

/// A value set up in a scope, remembered in setup order for teardown: it
/// owns the value (its slot only lends it) until the scope closes.
pub(crate) struct Entry {
    pub(crate) provider: &'static str,
    pub(crate) timing: TeardownTiming,
    value: Stored,
    teardown: Option<TeardownFn>,
    take: fn(Stored, &mut TeardownFn, Outcome) -> Result<(), Stored>,
    release: fn(Stored) -> Option<oneshot::Receiver<ReleasedValue>>,
    give: fn(ReleasedValue, &mut TeardownFn, Outcome),
}

impl Entry {
    /// The entry of a value just set up, owning `handle`.
    pub(crate) fn new<C: Cell>(
        provider: &'static str,
        timing: TeardownTiming,
        handle: Arc<C>,
        teardown: Option<TeardownFn>,
    ) -> Self {
        Self {
            provider,
            timing,
            value: handle,
            teardown,
            take: take_into::<C>,
            release: wait_for_release::<C>,
            give: give_to::<C>,
        }
    }

    /// `true` when the entry has a teardown.
    pub(crate) fn has_teardown(&self) -> bool {
        self.teardown.is_some()
    }

    /// Starts the teardown (in a `provider.teardown` span when `traced`) if
    /// no consumer holds the value any more: `Ok(None)` when there is none
    /// to run (the value is dropped here), `Err(self)` while the value is
    /// still held.
    pub(crate) fn start(self, outcome: Outcome, traced: bool) -> Result<Option<Running>, Self> {
        let Self { provider, timing, value, teardown, take, release, give } = self;
        let Some(mut run) = teardown else { return Ok(None) };
        match take(value, &mut run, outcome) {
            Ok(()) => Ok(Some(Running::new(provider, run, outcome, traced))),
            Err(value) => Err(Self { provider, timing, value, teardown: Some(run), take, release, give }),
        }
    }

    /// Lets go of the value and resolves once every consumer has dropped
    /// it (at once if none holds it): woken by the last drop.
    pub(crate) async fn released(self) -> Released {
        let Self { provider, value, teardown, release, give, .. } = self;
        let value = match (teardown.is_some(), release(value)) {
            (true, Some(released)) => released.await.ok(),
            _ => None,
        };
        Released { provider, value, teardown, give }
    }
}

/// A value given back by its last consumer, with its teardown.
pub(crate) struct Released {
    pub(crate) provider: &'static str,
    value: Option<ReleasedValue>,
    teardown: Option<TeardownFn>,
    give: fn(ReleasedValue, &mut TeardownFn, Outcome),
}

impl Released {
    /// Starts the teardown with `outcome`: `None` when there is none.
    pub(crate) fn start(self, outcome: Outcome, traced: bool) -> Option<Running> {
        let Self { provider, value, teardown, give } = self;
        let mut run = teardown?;
        if let Some(value) = value {
            give(value, &mut run, outcome);
        }
        Some(Running::new(provider, run, outcome, traced))
    }

    /// Runs the teardown with `outcome` (a span only when someone listens).
    pub(crate) async fn finish(self, outcome: Outcome) -> Result<(), TeardownError> {
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
    future: futures_util::future::CatchUnwind<AssertUnwindSafe<TeardownFn>>,
    /// Only when spans are recorded: boxed, to keep the common case small.
    span: Option<Box<(tracing::Span, std::time::Instant)>>,
}

impl Running {
    fn new(provider: &'static str, run: TeardownFn, outcome: Outcome, traced: bool) -> Self {
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
        Self { provider, future: AssertUnwindSafe(run).catch_unwind(), span }
    }

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
