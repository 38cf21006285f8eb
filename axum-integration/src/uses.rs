//! `Uses`: providers set up for a route or a router without the handler
//! receiving them (Bocadillo's `@useprovider`).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse as _, Response};
use axum::routing::MethodRouter;
use axum_providers_core::SharedScope;
use axum_providers_core::{ProvidedSet, ProviderRejection, ProviderState, Registry};
use tower_layer::Layer;
use tower_service::Service;

/// A layer that sets up `T` (a provided type or a tuple of them) in the
/// request's scope before the inner service runs: an auth guard, a rate
/// limit, an audit record. Their teardown runs with the request's, as usual; a
/// failure is the response and the handler does not run.
///
/// Added with [`UsesExt::uses`] on a route or a router whose state carries
/// the app container, so it cannot end up on a router without the
/// request-scope layer. The facade's guide (`axum_providers::guide::patterns`)
/// has a compiled example.
pub struct Uses<R, T> {
    _types: PhantomData<fn() -> (R, T)>,
}

impl<R, T> Uses<R, T> {
    /// The layer. Compiles only when `R` provides every type of `T`.
    fn new() -> Self
    where
        R: Registry,
        T: ProvidedSet<R>,
    {
        Self { _types: PhantomData }
    }
}

/// Sets up side-effect providers for a route or a router:
/// `get(admin).uses::<(AdminOnly,)>()`, `router.uses::<(Audit,)>()`.
///
/// Only for routes and routers whose state carries the app container (a
/// [`ProviderState`]: [`Providers`](axum_providers_core::Providers), or a
/// state of your own holding it), which they get only together with the
/// request-scope layer: the providers always find the request's scope.
/// `uses::<T>()` compiles only when the registry provides every type of `T`.
pub trait UsesExt<S: ProviderState>: Sized {
    /// Sets up every type of `T` (a tuple of provided types) before the
    /// handler runs, for matched routes only.
    #[must_use]
    fn uses<T: ProvidedSet<S::Registry> + 'static>(self) -> Self;
}

impl<S: ProviderState + Clone> UsesExt<S> for Router<S> {
    fn uses<T: ProvidedSet<S::Registry> + 'static>(self) -> Self {
        self.route_layer(Uses::<S::Registry, T>::new())
    }
}

impl<S: ProviderState + Clone> UsesExt<S> for MethodRouter<S> {
    fn uses<T: ProvidedSet<S::Registry> + 'static>(self) -> Self {
        self.route_layer(Uses::<S::Registry, T>::new())
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
                    "`uses` found no request scope: the route was added after `with_providers`, or a layer dropped the request's extensions"
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
