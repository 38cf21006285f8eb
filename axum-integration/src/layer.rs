//! The tower layer that opens and closes a request scope around each request.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum::response::Response;
use axum_providers_core::internal_error_response as internal_error;
use axum_providers_core::{App, BeforeResponse, Closed, Outcome, ProviderRejection, Registry, SharedScope};
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, CatchUnwind, Either};
use futures_util::ready;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ScopedBody;
use crate::deadline::{Armed, DeadlineExceeded, DeadlineFuture, OuterDeadline};
use crate::panic::PollingHandler;

/// Opens a request scope for every request and closes it when the handler's
/// response is ready, before it is sent.
///
/// Usually added by `Router::with_providers`; add it yourself when the router
/// has a state of your own (see `ProviderState`).
///
/// What it guarantees:
/// - the scope's values are torn down after the handler returned, in reverse
///   order of setup, with the [`Outcome`] of the response (decided after the
///   handler's error became a response): before the response is sent, except
///   for after-response values (`#[provider(teardown = after_response)]`) set
///   up before every before-response value, which are torn down when the body
///   has been sent;
/// - a value still held when the response is ready (moved into a streaming
///   body or a WebSocket) is torn down once released, with everything set up
///   before it;
/// - a failing teardown of a successful response turns it into a `500` with a
///   generic body (or the response its error chose, `Respond`), so no client
///   is told "stored" for data that was not; the teardowns after it see that
///   status;
/// - values held by a streaming body are torn down with the response's
///   outcome when the body ended, with [`Outcome::Cancelled`] when it was cut;
/// - a panicking handler gets its scope torn down with [`Outcome::Panicked`] and
///   the client a `500`; the server keeps serving;
/// - a request whose future is dropped (the client went away) gets its scope
///   torn down in the background with [`Outcome::Cancelled`];
/// - a request still without a response at its deadline (the app's
///   `request_deadline`, or a `RequestDeadline` layer on its route) has its
///   setup and handler cancelled, its scope torn down with
///   [`Outcome::TimedOut`], and is answered `503`.
pub struct ProvidersLayer<R: Registry> {
    app: App<R>,
}

impl<R: Registry> ProvidersLayer<R> {
    /// The layer for `app`'s request scopes.
    #[must_use]
    pub fn new(app: &App<R>) -> Self {
        Self { app: app.clone() }
    }
}

impl<R: Registry> Clone for ProvidersLayer<R> {
    fn clone(&self) -> Self {
        Self { app: self.app.clone() }
    }
}

impl<S, R: Registry> Layer<S> for ProvidersLayer<R> {
    type Service = ProvidersService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        ProvidersService { inner, app: self.app.clone() }
    }
}

/// The service of [`ProvidersLayer`].
pub struct ProvidersService<S, R: Registry> {
    inner: S,
    app: App<R>,
}

impl<S: Clone, R: Registry> Clone for ProvidersService<S, R> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), app: self.app.clone() }
    }
}

impl<S, R> Service<Request> for ProvidersService<S, R>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: Registry,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ProvidersFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let scope = SharedScope::open(&self.app);
        let bodiless = request.method() == axum::http::Method::HEAD;
        // The scope travels with the request: a middleware may move it to
        // another task, and the extractors still find it.
        request.extensions_mut().insert(scope.clone());
        // The deadline covers the autouse providers, extraction and the handler.
        let (armed, outer) = Armed::app_wide(&mut request, self.app.request_deadline());
        let inner = if R::AUTOUSE.is_empty() {
            // The inner future owns what it needs: no clone of the service.
            Either::Left(self.inner.call(request))
        } else {
            let ready = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, ready);
            let autouse_scope = scope.clone();
            // Boxed: this branch's state would otherwise widen every request's future.
            Either::Right(Box::pin(async move {
                // App-wide providers (`autouse`): set up before the handler.
                match autouse(&autouse_scope, request).await {
                    Ok(request) => inner.call(request).await,
                    Err(response) => Ok(response),
                }
            }) as BoxFuture<'static, Result<Response, Infallible>>)
        };
        ProvidersFuture {
            handled: AssertUnwindSafe(DeadlineFuture::new(inner, armed)).catch_unwind(),
            closing: None,
            guard: CancelGuard { scope: Some(scope), outer },
            bodiless,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ProvidersService`]: the inner service's response, then
    /// the scope's before-response teardowns. Not boxed: the router boxes it
    /// once already.
    pub struct ProvidersFuture<F, R: Registry> {
        #[pin]
        handled: CatchUnwind<AssertUnwindSafe<DeadlineFuture<Either<F, BoxFuture<'static, Result<Response, Infallible>>>>>>,
        // Teardowns still in progress, with the response they decide.
        // Dropped before the guard: what they hand to the app's worker is
        // sent while the scope still counts as open.
        closing: Option<Box<PendingClose<R>>>,
        guard: CancelGuard<R>,
        // The response is sent without a body (`HEAD`).
        bodiless: bool,
    }
}

struct PendingClose<R: Registry> {
    teardowns: BeforeResponse<R>,
    response: Response,
}

impl<F, R> Future for ProvidersFuture<F, R>
where
    F: Future<Output = Result<Response, Infallible>>,
    R: Registry,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(mut pending) = this.closing.take() {
            return match Pin::new(&mut pending.teardowns).poll(cx) {
                Poll::Ready(closed) => Poll::Ready(Ok(respond(pending.response, closed, *this.bodiless))),
                Poll::Pending => {
                    *this.closing = Some(pending);
                    crate::serve::closing_the_response();
                    Poll::Pending
                }
            };
        }
        let polling = PollingHandler::enter();
        let (response, outcome) = match ready!(this.handled.as_mut().poll(cx)) {
            Ok(Ok(response)) => {
                let outcome = if response.extensions().get::<DeadlineExceeded>().is_some() {
                    Outcome::TimedOut
                } else {
                    Outcome::from_status(response.status().as_u16())
                };
                (response, outcome)
            }
            Ok(Err(infallible)) => match infallible {},
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                match polling.claim() {
                    Some(location) => tracing::error!(
                        panic = %message,
                        %location,
                        "handler panicked; answering 500 and tearing the request scope down"
                    ),
                    None => tracing::error!(
                        panic = %message,
                        "handler panicked; answering 500 and tearing the request scope down"
                    ),
                }
                (internal_error(), Outcome::Panicked)
            }
        };
        drop(polling);
        if let Some(outer) = &this.guard.outer {
            // The response is decided: a deadline layer outside this one no
            // longer cuts (a commit in progress is never cut).
            outer.disarm();
        }
        // The teardowns are polled here, with this request's waker: most
        // finish at once; one in progress (a commit waiting for the database)
        // is polled again when it wakes the request.
        let Some(scope) = this.guard.scope.take() else {
            return Poll::Ready(Ok(response));
        };
        let mut teardowns = scope.close_before_response(outcome);
        match Pin::new(&mut teardowns).poll(cx) {
            Poll::Ready(closed) => Poll::Ready(Ok(respond(response, closed, *this.bodiless))),
            Poll::Pending => {
                *this.closing = Some(Box::new(PendingClose { teardowns, response }));
                crate::serve::closing_the_response();
                Poll::Pending
            }
        }
    }
}

/// The response, once the before-response teardowns ran: the one a failing
/// teardown chose (or a `500`) instead of a success, and a body that runs the
/// after-response teardowns when it ends (at once when there is no body to
/// send: `HEAD`, `204`, `304`).
fn respond<R: Registry>(response: Response, closed: Closed<R>, bodiless: bool) -> Response {
    let response = match closed.replaced {
        None => response,
        Some(chosen) => match chosen.and_then(|payload| payload.downcast::<Response>().ok()) {
            Some(chosen) => *chosen,
            None => internal_error(),
        },
    };
    let status = response.status();
    match closed.after_response {
        None => response,
        Some(remainder)
            if bodiless || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED =>
        {
            let outcome = remainder.outcome();
            remainder.finish(outcome);
            response
        }
        Some(remainder) => response.map(|body| Body::new(ScopedBody::new(body, remainder))),
    }
}

/// Sets up the registry's `autouse` providers in the request's scope; a
/// failure is the response.
async fn autouse<R: Registry>(scope: &SharedScope<R>, request: Request) -> Result<Request, Response> {
    if R::AUTOUSE.is_empty() {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    let mut resolver = scope.resolver(&mut parts);
    if let Err(error) = resolver.set_up_together(R::AUTOUSE, true).await {
        return Err(ProviderRejection::from(error).into_response());
    }
    for &index in R::AUTOUSE {
        if let Err(error) = resolver.ensure_index(index).await {
            return Err(ProviderRejection::from(error).into_response());
        }
    }
    Ok(Request::from_parts(parts, body))
}

/// Tears the scope down (in the background) if the request future is dropped
/// before the scope was closed: the client went away.
struct CancelGuard<R: Registry> {
    /// Taken when the layer closes the scope itself.
    scope: Option<SharedScope<R>>,
    /// The deadline of a layer outside this one, which may cut the request.
    outer: Option<OuterDeadline>,
}

impl<R: Registry> Drop for CancelGuard<R> {
    fn drop(&mut self) {
        if let Some(scope) = self.scope.take() {
            if self.outer.as_ref().is_some_and(OuterDeadline::fired) {
                scope.abandon(Outcome::TimedOut);
            } else {
                tracing::debug!("request cancelled before its scope closed");
                scope.abandon(Outcome::Cancelled);
            }
        }
    }
}
