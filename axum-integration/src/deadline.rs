//! Request deadlines: the time by which a request's response must be ready,
//! app-wide (`App::builder().request_deadline(..)`) or per route
//! ([`RequestDeadline`]), readable by providers and handlers ([`Deadline`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use tower_layer::Layer;
use tower_service::Service;

/// The time by which the current request's response must be ready, or none.
///
/// An extractor, for handlers and for request-scoped providers alike
/// (`deadline: Deadline`); it never fails. A request has a deadline when the
/// app has one (`App::builder().request_deadline(..)`) or its route has a
/// [`RequestDeadline`] layer (which wins); otherwise, and in a scope opened
/// by hand (`app.scope()`, outside HTTP), it is [`Deadline::NONE`]: no
/// deadline, [`remaining`](Deadline::remaining) is `None`, as if the
/// deadline were infinitely far.
///
/// Use it to bound what a provider or handler waits for: the built-in
/// database providers wait for a connection at most until the deadline, and
/// cap the statement timeout of the request's transaction at the time left.
///
/// ```
/// use std::time::Duration;
/// use axum_providers::Deadline;
/// use axum_providers::prelude::*;
///
/// pub struct Quote(String);
///
/// #[provider]
/// async fn quote(deadline: Deadline) -> Quote {
///     // Ask an upstream service, but not for longer than the request may take.
///     let wait = deadline.cap(Duration::from_secs(10));
///     Quote(format!("waited at most {} ms", wait.as_millis()))
/// }
/// # #[providers(quote)] struct AppProviders;
/// # fn main() {}
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    /// No deadline.
    pub const NONE: Self = Self { at: None };

    /// A deadline at `instant`.
    #[must_use]
    pub const fn at(instant: Instant) -> Self {
        Self { at: Some(instant) }
    }

    /// A deadline `duration` from now.
    #[must_use]
    pub fn after(duration: Duration) -> Self {
        Self { at: Instant::now().checked_add(duration) }
    }

    /// When the deadline is, if there is one.
    #[must_use]
    pub const fn instant(&self) -> Option<Instant> {
        self.at
    }

    /// The time left: `None` without a deadline, `Some(Duration::ZERO)` once
    /// it passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_providers::Deadline;
    ///
    /// assert_eq!(Deadline::NONE.remaining(), None);
    /// assert!(Deadline::after(Duration::from_secs(60)).remaining() > Some(Duration::from_secs(59)));
    /// ```
    #[must_use]
    pub fn remaining(&self) -> Option<Duration> {
        self.at.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// `true` once the deadline passed (never without one).
    #[must_use]
    pub fn has_passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// `limit`, or the time left if that is shorter: how long to wait for
    /// something that has a timeout of its own (a pool's acquire timeout, a
    /// client's request timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_providers::Deadline;
    ///
    /// assert_eq!(Deadline::NONE.cap(Duration::from_secs(5)), Duration::from_secs(5));
    /// assert!(Deadline::after(Duration::from_millis(300)).cap(Duration::from_secs(5)) <= Duration::from_millis(300));
    /// ```
    #[must_use]
    pub fn cap(&self, limit: Duration) -> Duration {
        self.remaining().map_or(limit, |remaining| remaining.min(limit))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Deadline {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ActiveDeadline>().map_or(Self::NONE, |active| active.deadline))
    }
}

/// The [`Deadline`] a provider gets outside HTTP (a scope opened by hand):
/// none. `None` for any other extractor, which needs a request.
pub(crate) fn outside_request<E: 'static>() -> Option<E> {
    let mut none = Some(Deadline::NONE);
    (&mut none as &mut dyn std::any::Any).downcast_mut::<Option<E>>().and_then(Option::take)
}

/// The timer is running.
const ARMED: u8 = 0;
/// A layer nearer the handler took over (or the response was ready): this
/// timer no longer cuts.
const SUPERSEDED: u8 = 1;
/// The timer cut the request.
const FIRED: u8 = 2;

/// The request's deadline and the state of the timer that enforces it, in
/// the request's extensions.
#[derive(Clone)]
struct ActiveDeadline {
    deadline: Deadline,
    state: Arc<AtomicU8>,
}

/// The state of the timer of a deadline layer outside the providers layer:
/// whether it cut the request (the scope's outcome is then
/// [`Outcome::TimedOut`](axum_providers_core::Outcome::TimedOut)).
pub(crate) struct OuterDeadline(Arc<AtomicU8>);

impl OuterDeadline {
    /// The deadline a layer outside the providers layer set, if any.
    pub(crate) fn of(request: &Request) -> Option<Self> {
        request.extensions().get::<ActiveDeadline>().map(|active| Self(Arc::clone(&active.state)))
    }

    /// The response is decided: the outer timer no longer cuts (a commit in
    /// progress is never cut).
    pub(crate) fn disarm(&self) {
        let _ = self.0.compare_exchange(ARMED, SUPERSEDED, Ordering::AcqRel, Ordering::Acquire);
    }

    /// `true` when the outer timer cut the request.
    pub(crate) fn fired(&self) -> bool {
        self.0.load(Ordering::Acquire) == FIRED
    }
}

/// Marks the response of a request cut at its deadline, for the providers
/// layer: its scope closes with `Outcome::TimedOut`.
#[derive(Clone, Copy)]
pub(crate) struct DeadlineExceeded;

pin_project_lite::pin_project! {
    /// The timer of one deadline.
    struct Timer {
        #[pin]
        sleep: tokio::time::Sleep,
        at: Instant,
        limit: Duration,
        method: Method,
        path: String,
        state: Arc<AtomicU8>,
    }
}

impl Timer {
    /// Sets the request's deadline `limit` from now, taking over from the
    /// deadline of a layer further out, and returns its timer.
    fn arm(request: &mut Request, limit: Duration) -> Pin<Box<Self>> {
        let now = Instant::now();
        // Beyond what `Instant` can hold: as good as none, but still a timer.
        let at = now.checked_add(limit).unwrap_or(now + Duration::from_secs(86_400 * 365));
        if let Some(outer) = request.extensions().get::<ActiveDeadline>() {
            let _ = outer.state.compare_exchange(ARMED, SUPERSEDED, Ordering::AcqRel, Ordering::Acquire);
        }
        let state = Arc::new(AtomicU8::new(ARMED));
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        request
            .extensions_mut()
            .insert(ActiveDeadline { deadline: Deadline::at(at), state: Arc::clone(&state) });
        Box::pin(Self {
            sleep: tokio::time::sleep_until(tokio::time::Instant::from_std(at)),
            at,
            limit,
            method,
            path,
            state,
        })
    }

    fn superseded(&self) -> bool {
        self.state.load(Ordering::Acquire) != ARMED
    }

    /// Cuts the request: one warning, and the deadline's response.
    fn cut(&self) -> Response {
        self.state.store(FIRED, Ordering::Release);
        let limit_ms = u64::try_from(self.limit.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(
            method = %self.method,
            path = %self.path,
            deadline_ms = limit_ms,
            "request cut at its deadline ({limit_ms} ms): setup and handler cancelled; answering 503"
        );
        deadline_response(limit_ms)
    }
}

/// `503 Service Unavailable`, `Retry-After: 1`, and a plain-text body that
/// names the deadline.
fn deadline_response(limit_ms: u64) -> Response {
    let body = format!(
        "service unavailable: the request did not finish within its deadline of {limit_ms} ms; try again shortly\n"
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response.extensions_mut().insert(DeadlineExceeded);
    response
}

pin_project_lite::pin_project! {
    /// A service's response future under a deadline: when the deadline
    /// passes first, the inner future (extraction, provider setup, the
    /// handler) is dropped and the answer is the deadline's `503`; a
    /// response ready only after the deadline is replaced by it too. The
    /// future of [`RequestDeadline`]'s service.
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: Option<F>,
        // Boxed: a request without a deadline pays one pointer.
        timer: Option<Pin<Box<Timer>>>,
    }
}

impl<F> DeadlineFuture<F> {
    /// `inner`, cut at the deadline of `armed`, if it has one.
    pub(crate) fn new(inner: F, armed: Armed) -> Self {
        Self { inner: Some(inner), timer: armed.0 }
    }
}

/// The timer of a request's deadline, set before the request goes on.
pub(crate) struct Armed(Option<Pin<Box<Timer>>>);

impl Armed {
    /// The app-wide deadline `limit` (when there is one), unless a layer
    /// further out set a deadline already: that one rules, and is returned.
    pub(crate) fn app_wide(request: &mut Request, limit: Option<Duration>) -> (Self, Option<OuterDeadline>) {
        match OuterDeadline::of(request) {
            Some(outer) => (Self(None), Some(outer)),
            None => (Self(limit.map(|limit| Timer::arm(request, limit))), None),
        }
    }
}

impl<F> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            // Polled again after it answered (a contract breach): a generic 500.
            return Poll::Ready(Ok(axum_providers_core::internal_error_response()));
        };
        if let Poll::Ready(output) = inner.poll(cx) {
            let Some(timer) = this.timer.take() else { return Poll::Ready(output) };
            // Late counts as cut: a statement the database cancelled at the
            // deadline answers the deadline's response, not its own.
            if !timer.superseded() && Instant::now() >= timer.at {
                let response = timer.cut();
                this.inner.set(None);
                return Poll::Ready(Ok(response));
            }
            timer.state.store(SUPERSEDED, Ordering::Release);
            return Poll::Ready(output);
        }
        let Some(timer) = this.timer.as_mut() else { return Poll::Pending };
        if timer.superseded() {
            // A layer nearer the handler has a deadline of its own.
            *this.timer = None;
            return Poll::Pending;
        }
        if timer.as_mut().project().sleep.poll(cx).is_ready() {
            // Cancel setup and handler first: their borrowed values go back
            // to the scope, which then closes with `TimedOut` (a providers
            // layer inside, dropped here, reads `FIRED` from the state).
            let response = timer.cut();
            this.inner.set(None);
            *this.timer = None;
            return Poll::Ready(Ok(response));
        }
        Poll::Pending
    }
}

/// A request deadline for the routes it wraps, overriding the app-wide one
/// (`App::builder().request_deadline(..)`) and that of any deadline layer
/// further out: the innermost deadline wins, longer or shorter.
///
/// Add it inside `with_providers`, where extraction (provider setup) runs:
/// `.route_layer(RequestDeadline::new(..))` on a route, or `.layer(..)` on a
/// router before `with_providers`. When the deadline passes before the
/// response is ready, setup and handler are cancelled (their future
/// dropped), the values set up so far are torn down with
/// `Outcome::TimedOut` (a transaction rolls back) before the client gets
/// `503 Service Unavailable` with `Retry-After: 1` and
/// `service unavailable: the request did not finish within its deadline of 2000 ms; try again shortly`,
/// and one warning names the method, the path and the deadline.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::post};
/// use axum_providers::RequestDeadline;
/// use axum_providers::prelude::*;
///
/// # pub struct Greeting; #[provider(scope = app)] fn greeting() -> Greeting { Greeting }
/// # #[providers(greeting)] struct AppProviders;
/// async fn import() -> &'static str { "imported" }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().request_deadline(Duration::from_secs(2)).build().await?;
/// let router: Router = Router::new()
///     .route("/import", post(import).route_layer(RequestDeadline::new(Duration::from_secs(30))))
///     .with_providers(&app);
/// # drop(router); app.shutdown().await?; Ok(()) }
/// ```
///
/// Outside `with_providers` it still cuts the request at its deadline, but
/// then the request scope is dropped rather than closed: its values are torn
/// down in the background (with `Outcome::TimedOut`) while the client gets
/// the `503`.
#[derive(Clone, Copy, Debug)]
pub struct RequestDeadline {
    limit: Duration,
}

impl RequestDeadline {
    /// A deadline `limit` after the request reaches this layer.
    #[must_use]
    pub const fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for RequestDeadline {
    type Service = RequestDeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestDeadlineService { inner, limit: self.limit }
    }
}

/// The service of [`RequestDeadline`].
#[derive(Clone, Debug)]
pub struct RequestDeadlineService<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<Request> for RequestDeadlineService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let armed = Armed(Some(Timer::arm(&mut request, self.limit)));
        DeadlineFuture::new(self.inner.call(request), armed)
    }
}
