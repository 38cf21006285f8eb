//! Serving with a graceful drain on SIGTERM or SIGINT, one deadline for the
//! whole shutdown, then app teardown.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::{IntoResponse as _, Response};
use axum::serve::{IncomingStream, Listener};
use axum_providers_core::{App, Cancellation, Cancelled, Registry, TeardownErrors};
use futures_util::future::BoxFuture;
use http_body::{Body as _, Frame, SizeHint};
use tokio::time::Instant;
use tower_service::Service;

/// Serves `make_service` on `listener` until SIGTERM or SIGINT (or the future
/// given to [`with_graceful_shutdown`](Serve::with_graceful_shutdown)), then
/// shuts down within one deadline and tears `app` down.
///
/// It takes what [`axum::serve()`] takes: any [`Listener`] (a
/// `tokio::net::TcpListener`, a `UnixListener`, `listener.tap_io(..)`), and a
/// `Router`, `router.into_make_service()` or
/// `router.into_make_service_with_connect_info::<SocketAddr>()`.
///
/// Shutdown, from the signal on:
/// 1. the listener stops accepting; requests in flight, streaming bodies and
///    WebSockets go on, each request's scope closing as usual;
/// 2. at the deadline ([`App::shutdown_timeout`], 30 s by default), what is
///    still running is cut: a request still running is answered `503`, a
///    streaming body ends with an error, a socket of
///    `ws::WebSocketUpgrade` (feature `ws`) is dropped; their values are torn
///    down with `Outcome::Cancelled`, and a log line says how many scopes were
///    cut (a request whose before-response teardowns already run, a commit,
///    is not cut: it ends with the response its teardowns decide);
/// 3. the app-scoped values are torn down in reverse order of setup
///    ([`App::shutdown_by`]), and the future resolves (`Ok` when every
///    teardown succeeded, cut requests or not).
///
/// The `app` stays yours: after `serve` returns, its values without teardown
/// can still be read.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use axum_providers::prelude::*;
///
/// pub struct Greeting(&'static str);
///
/// #[provider(scope = app)]
/// fn greeting() -> Greeting { Greeting("hello") }
///
/// #[providers(greeting)]
/// struct AppProviders;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let router: Router = Router::new()
///     .route("/", get(|greeting: Dep<Greeting>| async move { greeting.0 }))
///     .with_providers(&app);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum_providers::serve(listener, router, &app).await?; // until SIGTERM or Ctrl-C
/// # Ok(()) }
/// # fn main() {}
/// ```
pub fn serve<L, M, S, R>(listener: L, make_service: M, app: &App<R>) -> Serve<L, M, R>
where
    L: Listener,
    L::Addr: fmt::Debug,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S> + Send + 'static,
    for<'a> <M as Service<IncomingStream<'a, L>>>::Future: Send,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    R: Registry,
{
    Serve { listener, make_service, app: app.clone(), signal: None }
}

/// The future of [`serve`] (through `IntoFuture`), with its settings.
#[must_use = "a server does nothing unless awaited"]
pub struct Serve<L, M, R: Registry> {
    listener: L,
    make_service: M,
    app: App<R>,
    signal: Option<BoxFuture<'static, ()>>,
}

impl<L, M, R: Registry> Serve<L, M, R> {
    /// Starts the shutdown when `signal` resolves, instead of on SIGTERM or
    /// SIGINT (a test stops its server this way).
    pub fn with_graceful_shutdown(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.signal = Some(Box::pin(signal));
        self
    }
}

impl<L, M, R: Registry> fmt::Debug for Serve<L, M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve").field("app", &self.app).finish_non_exhaustive()
    }
}

impl<L, M, S, R> IntoFuture for Serve<L, M, R>
where
    L: Listener,
    L::Addr: fmt::Debug,
    M: for<'a> Service<IncomingStream<'a, L>, Error = Infallible, Response = S> + Send + 'static,
    for<'a> <M as Service<IncomingStream<'a, L>>>::Future: Send,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    R: Registry,
{
    type Output = Result<(), ServeError>;
    type IntoFuture = BoxFuture<'static, Result<(), ServeError>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Self { listener, make_service, app, signal } = self;
            let timeout = app.shutdown_timeout();
            let (started, mut signalled) = tokio::sync::oneshot::channel::<Instant>();
            // The signals are listened to from here on, before the first connection.
            let signal: BoxFuture<'static, &'static str> = match signal {
                Some(signal) => Box::pin(async move {
                    signal.await;
                    "shutdown requested"
                }),
                None => shutdown_signal(),
            };
            let signal = async move {
                let cause = signal.await;
                tracing::info!(cause, ?timeout, "shutting down: draining requests");
                let _ = started.send(Instant::now());
            };
            let make_service = CutOff { inner: make_service, cancellation: Some(app.cancellation()) };
            let server = axum::serve(listener, make_service).with_graceful_shutdown(signal).into_future();
            let mut server = std::pin::pin!(server);
            let mut drained = false;
            let started = tokio::select! {
                started = &mut signalled => started.unwrap_or_else(|_| Instant::now()),
                served = &mut server => {
                    served.map_err(ServeError::Io)?;
                    drained = true;
                    signalled.try_recv().unwrap_or_else(|_| Instant::now())
                }
            };
            let deadline = started + timeout;
            if !drained {
                // Requests in flight, streaming bodies and sockets end by
                // themselves until the deadline; then what still runs is cut.
                if let Err(_deadline) = tokio::time::timeout_at(deadline, &mut server).await {
                    tracing::warn!(
                        open_scopes = app.open_scopes(),
                        "shutdown deadline passed with requests still running; cutting them"
                    );
                    app.cancellation().cancel();
                    // A connection whose client stopped reading is left behind.
                    let grace = deadline + timeout.min(std::time::Duration::from_secs(5));
                    if tokio::time::timeout_at(grace, &mut server).await.is_err() {
                        tracing::warn!("connections still open after the shutdown deadline; leaving them");
                    }
                }
            }
            app.shutdown_by(deadline).await.map_err(ServeError::Teardown)
        })
    }
}

/// Listens for SIGTERM (what systemd, Docker and Kubernetes send) and SIGINT
/// (Ctrl-C) from now on; resolves with which one came.
fn shutdown_signal() -> BoxFuture<'static, &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut terminate), Ok(mut interrupt)) => Box::pin(async move {
                tokio::select! {
                    _ = terminate.recv() => "SIGTERM",
                    _ = interrupt.recv() => "SIGINT",
                }
            }),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot listen for SIGTERM/SIGINT; serving until the process is killed");
                Box::pin(std::future::pending())
            }
        }
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(error) => {
                    tracing::error!(%error, "cannot listen for Ctrl-C; serving until the process is killed");
                    std::future::pending().await
                }
            }
        })
    }
}

/// The make-service of [`serve`]: the user's, each connection's service
/// wrapped so that the shutdown deadline can cut its requests.
struct CutOff<M> {
    inner: M,
    /// Taken by the request served by this clone of the service (hyper
    /// clones the service for each request).
    cancellation: Option<Cancellation>,
}

impl<'a, L, M, S> Service<IncomingStream<'a, L>> for CutOff<M>
where
    L: Listener,
    M: Service<IncomingStream<'a, L>, Error = Infallible, Response = S>,
{
    type Response = CutOff<S>;
    type Error = Infallible;
    type Future = MakeCutOff<M::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, stream: IncomingStream<'a, L>) -> Self::Future {
        MakeCutOff { inner: self.inner.call(stream), cancellation: self.cancellation.clone() }
    }
}

impl<S: Clone> Clone for CutOff<S> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), cancellation: self.cancellation.clone() }
    }
}

pin_project_lite::pin_project! {
    struct MakeCutOff<F> {
        #[pin]
        inner: F,
        cancellation: Option<Cancellation>,
    }
}

impl<F, S> Future for MakeCutOff<F>
where
    F: Future<Output = Result<S, Infallible>>,
{
    type Output = Result<CutOff<S>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(inner) = ready!(this.inner.poll(cx));
        Poll::Ready(Ok(CutOff { inner, cancellation: this.cancellation.take() }))
    }
}

impl<S> Service<Request> for CutOff<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CutOffFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        CutOffFuture {
            inner: self.inner.call(request),
            cancellation: self.cancellation.take(),
            listener: None,
            closing: false,
        }
    }
}

std::thread_local! {
    /// Set by the providers layer while it polls the before-response
    /// teardowns of the request being polled on this thread.
    static CLOSING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tells [`serve`]'s cut-off that the request polled now is running its
/// before-response teardowns (a commit): it is not cut, since its outcome
/// was decided and a commit in progress runs to its end.
pub(crate) fn closing_the_response() {
    CLOSING.with(|closing| closing.set(true));
}

/// Listens to a [`Cancellation`] from a future's `poll`: registers the
/// task's waker once (again only when the waker changes), and checks the
/// flag otherwise, so that a pending request does not take the shared lock
/// on every poll.
struct CancelListener {
    cancellation: Cancellation,
    cancelled: Option<Pin<Box<Cancelled>>>,
    waker: Option<std::task::Waker>,
}

impl CancelListener {
    fn new(cancellation: Cancellation) -> Self {
        Self { cancellation, cancelled: None, waker: None }
    }

    fn poll_cancelled(&mut self, cx: &mut Context<'_>) -> bool {
        if self.cancellation.is_cancelled() {
            return true;
        }
        if self.waker.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
            return false;
        }
        let cancelled = self.cancelled.get_or_insert_with(|| Box::pin(self.cancellation.cancelled()));
        if cancelled.as_mut().poll(cx).is_ready() {
            return true;
        }
        self.waker = Some(cx.waker().clone());
        false
    }
}

pin_project_lite::pin_project! {
    /// A request that the shutdown deadline can cut: its handler's future is
    /// dropped (the request scope closes as cancelled) and it is answered 503.
    struct CutOffFuture<F> {
        #[pin]
        inner: F,
        // `None` only for a service clone called twice: not cut then.
        cancellation: Option<Cancellation>,
        // Listened to only once the request had to wait.
        listener: Option<CancelListener>,
        // The providers layer is running the request's before-response
        // teardowns: it is not cut any more.
        closing: bool,
    }
}

impl<F> Future for CutOffFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        CLOSING.with(|closing| closing.set(false));
        if let Poll::Ready(Ok(response)) = this.inner.poll(cx) {
            let body = response.body();
            let streaming = !body.is_end_stream() && body.size_hint().exact().is_none();
            if !streaming {
                return Poll::Ready(Ok(response));
            }
            let cancellation = this
                .cancellation
                .take()
                .or_else(|| this.listener.take().map(|listener| listener.cancellation));
            return Poll::Ready(Ok(match cancellation {
                Some(cancellation) => response.map(|body| Body::new(CutOffBody::new(body, cancellation))),
                None => response,
            }));
        }
        if CLOSING.with(|closing| closing.replace(false)) {
            *this.closing = true;
        }
        if *this.closing {
            return Poll::Pending;
        }
        if this.listener.is_none() {
            match this.cancellation.take() {
                Some(cancellation) => *this.listener = Some(CancelListener::new(cancellation)),
                None => return Poll::Pending,
            }
        }
        if let Some(listener) = this.listener.as_mut()
            && listener.poll_cancelled(cx)
        {
            tracing::warn!("request cut at the shutdown deadline; answering 503");
            let response = (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "service unavailable: the server is shutting down\n",
            )
                .into_response();
            return Poll::Ready(Ok(response));
        }
        Poll::Pending
    }
}

pin_project_lite::pin_project! {
    /// A streaming body that the shutdown deadline ends with an error (the
    /// connection is then closed, and the values the body held are torn down
    /// as cancelled).
    struct CutOffBody {
        #[pin]
        inner: Body,
        listener: CancelListener,
    }
}

impl CutOffBody {
    fn new(inner: Body, cancellation: Cancellation) -> Self {
        Self { inner, listener: CancelListener::new(cancellation) }
    }
}

impl http_body::Body for CutOffBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if !this.listener.poll_cancelled(cx) {
            return Poll::Pending;
        }
        tracing::warn!("streaming body cut at the shutdown deadline");
        Poll::Ready(Some(Err(axum::Error::new("the body was cut at the shutdown deadline"))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What [`serve`] can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The server failed.
    Io(std::io::Error),
    /// The server stopped but some app-scoped teardowns failed.
    Teardown(TeardownErrors),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "server error: {error}"),
            Self::Teardown(errors) => write!(f, "app shutdown: {errors}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            Self::Teardown(errors) => Some(errors),
        }
    }
}
