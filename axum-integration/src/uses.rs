//! `Uses`: providers set up for a route or a router without the handler
//! receiving them (Bocadillo's `@useprovider`).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse as _, Response};
use axum_providers_core::SharedScope;
use axum_providers_core::{ProvidedSet, ProviderRejection, Registry};
use tower_layer::Layer;
use tower_service::Service;

/// A layer that sets up `T` (a provided type or a tuple of them) in the
/// request's scope before the inner service runs: an auth guard, a rate
/// limit, an audit record. Their teardown runs with the request's, as usual; a
/// failure is the response and the handler does not run.
///
/// Put it on a route with `route_layer`, or on a router with `layer`, inside
/// the router that `with_providers` is called on (it needs the request scope).
///
/// `Uses::<AppProviders, (AdminOnly,)>::new()` compiles only when
/// `AppProviders` provides every type of the tuple. The facade's guide
/// (`axum_providers::guide::patterns`) has a compiled example.
pub struct Uses<R, T> {
    _types: PhantomData<fn() -> (R, T)>,
}

impl<R, T> Uses<R, T> {
    /// The layer. Compiles only when `R` provides every type of `T`.
    #[must_use]
    pub fn new() -> Self
    where
        R: Registry,
        T: ProvidedSet<R>,
    {
        Self { _types: PhantomData }
    }
}

impl<R: Registry, T: ProvidedSet<R>> Default for Uses<R, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R, T> Clone for Uses<R, T> {
    fn clone(&self) -> Self {
        Self { _types: PhantomData }
    }
}

impl<S, R, T> Layer<S> for Uses<R, T> {
    type Service = UsesService<S, R, T>;

    fn layer(&self, inner: S) -> Self::Service {
        UsesService { inner, _types: PhantomData }
    }
}

/// The service of [`Uses`].
pub struct UsesService<S, R, T> {
    inner: S,
    _types: PhantomData<fn() -> (R, T)>,
}

impl<S: Clone, R, T> Clone for UsesService<S, R, T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), _types: PhantomData }
    }
}

impl<S, R, T> Service<Request> for UsesService<S, R, T>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: Registry,
    T: ProvidedSet<R> + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let Some(scope) = SharedScope::<R>::of(&parts.extensions) else {
                tracing::error!(
                    "`Uses` found no request scope: put it inside the router that `with_providers` is called on"
                );
                return Ok(axum_providers_core::internal_error_response());
            };
            let ensured = T::ensure_all(&mut scope.resolver(&mut parts)).await;
            if let Err(error) = ensured {
                return Ok(ProviderRejection::from(error).into_response());
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
