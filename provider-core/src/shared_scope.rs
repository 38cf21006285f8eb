//! The public driver of a request scope, for integrating providers with a
//! framework: [`SharedScope`] and the future of its closing before the
//! response, [`BeforeResponse`].

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::app::App;
use crate::closing::{Closed, Closing, OutcomeSender};
use crate::open_scope::ScopeInner;
use crate::outcome::Outcome;
use crate::provider::Registry;
use crate::resolver::Resolver;

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
/// use axum_providers::driver::SharedScope;
/// use axum_providers::prelude::*;
///
/// pub struct User(String);
///
/// #[provider]
/// fn user() -> User { User("ada".into()) }
///
/// #[providers(user)]
/// struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = App::<AppProviders>::builder().build().await?;
/// let scope = SharedScope::open(&app);
/// let mut request = (); // what providers may borrow: for HTTP, the request's head
/// let mut resolver = scope.resolver(&mut request);
/// let user: Dep<User> = resolver.shared::<User>().await?; // for each value the handler asks for
/// assert_eq!(user.0, "ada");
/// drop(user);
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
        Resolver::in_scope(&self.0, Some(context))
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
        self.0.app()
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
