//! `Dep` and `DepMut` as axum extractors, and their rejection.

use std::fmt;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::dep::{Dep, DepMut};
use crate::error::ProviderError;
use crate::provider::{Provides, Registry};
use crate::scope::Shareable;
use crate::shared_scope::SharedScope;
use crate::teardown::{BoxFuture, ExclusiveValue, Lendable, SharedValue};
use crate::uses::ProvidedSet;

/// The router state of a router that has the request-scope layer: the app
/// container, handed out only together with the layer.
///
/// `Router::with_providers(&app)` gives a router this state;
/// `Router::with_providers_in_state(&app, |providers| AppState { providers, .. })`
/// puts it in a state of your own. Either adds the layer in the same call, so
/// a router whose handlers take `Dep<T>` cannot be served without it: the
/// container alone (`.with_state(app)`) is not a [`ProviderState`], and this
/// state has no other constructor than [`for_layer`](Self::for_layer), for
/// integrators that add the layer themselves. `State<App<R>>` extracts the
/// container from it.
pub struct Providers<R: Registry> {
    app: crate::App<R>,
}

impl<R: Registry> Providers<R> {
    /// The state that goes with a request-scope layer the caller adds to the
    /// same router itself (`ProvidersLayer::new(&app)`). Apps do not need it:
    /// `with_providers` and `with_providers_in_state` add both.
    #[must_use]
    pub fn for_layer(app: &crate::App<R>) -> Self {
        Self { app: app.clone() }
    }

    /// The app container.
    #[must_use]
    pub fn app(&self) -> &crate::App<R> {
        &self.app
    }
}

impl<R: Registry> Clone for Providers<R> {
    fn clone(&self) -> Self {
        Self { app: self.app.clone() }
    }
}

impl<R: Registry> fmt::Debug for Providers<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers").field("registry", &std::any::type_name::<R>()).finish_non_exhaustive()
    }
}

impl<R: Registry> axum_core::extract::FromRef<Providers<R>> for crate::App<R> {
    fn from_ref(providers: &Providers<R>) -> Self {
        providers.app.clone()
    }
}

/// A router state that carries the [`Providers`] of an app container:
/// [`Providers`] itself, or a state of your own that holds it.
///
/// `Dep<T>` and `DepMut<T>` are extractors for routers whose state implements
/// it, like axum's `State<T>` needs `T: FromRef<S>`: a router that uses them
/// and was never given the app container does not compile. A state of your
/// own holds the [`Providers`] that `with_providers_in_state` hands out
/// together with the request-scope layer:
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// use axum_providers::prelude::*;
/// use axum_providers::{ProviderState, Providers};
///
/// pub struct User(String);
///
/// #[provider]
/// fn user() -> User { User("ada".into()) }
///
/// #[providers(user)]
/// struct AppProviders;
///
/// #[derive(Clone)]
/// struct AppState {
///     providers: Providers<AppProviders>,
///     greeting: &'static str,
/// }
///
/// impl ProviderState for AppState {
///     type Registry = AppProviders;
///
///     fn providers(&self) -> &Providers<AppProviders> {
///         &self.providers
///     }
/// }
///
/// async fn hello(State(state): State<AppState>, user: Dep<User>) -> String {
///     format!("{}, {}", state.greeting, user.0)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let router: Router = Router::new()
///     .route("/", get(hello))
///     .with_providers_in_state(&app, |providers| AppState { providers, greeting: "hello" });
/// # drop(router);
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "the router state `{Self}` does not carry an app container",
    label = "`Dep` and `DepMut` need a router that was given the app container",
    note = "call `.with_providers(&app)` on the router, or keep the `Providers` that `.with_providers_in_state(&app, |providers| ..)` hands out in your own state and implement `ProviderState` for it"
)]
pub trait ProviderState: Send + Sync + 'static {
    /// The registry of the app container.
    type Registry: Registry;

    /// The app container's state, which only comes with the request-scope
    /// layer.
    fn providers(&self) -> &Providers<Self::Registry>;
}

impl<R: Registry> ProviderState for Providers<R> {
    type Registry = R;

    fn providers(&self) -> &Providers<R> {
        self
    }
}

impl<S, T> FromRequestParts<S> for Dep<T>
where
    S: ProviderState,
    S::Registry: Provides<T>,
    <S::Registry as Provides<T>>::Access: Shareable,
    T: SharedValue,
{
    type Rejection = ProviderRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let scope = scope_of::<S::Registry>(parts)?;
        scope.resolver(parts).shared::<T>().await.map_err(ProviderRejection::from)
    }
}

impl<S, T> FromRequestParts<S> for DepMut<T>
where
    S: ProviderState,
    S::Registry: Provides<T>,
    <S::Registry as Provides<T>>::Access: Lendable<T>,
    T: ExclusiveValue,
{
    type Rejection = ProviderRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let scope = scope_of::<S::Registry>(parts)?;
        scope.resolver(parts).exclusive::<T>().await.map_err(ProviderRejection::from)
    }
}

/// Sets up the provided values of `L` (a tuple of provided types) together,
/// before the handler's next arguments are extracted: those whose providers
/// wait (an `async fn` waiting on I/O) and do not depend on each other are
/// set up concurrently, within the request's own task.
///
/// axum extracts a handler's arguments one after the other, so three
/// `Dep<T>` arguments whose providers each wait 100 ms take 300 ms. In front of
/// them, `Together` makes it about 100 ms; the arguments then find their
/// values ready. `#[handler]` adds it for you, before a handler's
/// first provided argument, when the handler takes two or more. Each value is
/// still set up once per request, and torn down in the reverse order of
/// setup completion (a value always after those that depend on it). Setups
/// that use the request (an extractor, a borrowed header) or borrow an
/// exclusive value (`DepMut`) take turns; a failure cancels the setups still
/// in progress and becomes the response, as with `Dep<T>`.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use axum_providers::prelude::*;
/// use axum_providers::Together;
///
/// pub struct Profile(String);
/// pub struct Quota(u32);
///
/// #[provider]
/// async fn profile() -> Profile {
///     tokio::time::sleep(Duration::from_millis(50)).await; // a lookup
///     Profile("ada".into())
/// }
///
/// #[provider]
/// async fn quota() -> Quota {
///     tokio::time::sleep(Duration::from_millis(50)).await; // a cache read
///     Quota(3)
/// }
///
/// #[providers(profile, quota)]
/// struct AppProviders;
///
/// // Both lookups run side by side: about 50 ms, not 100.
/// async fn home(_: Together<(Profile, Quota)>, profile: Dep<Profile>, quota: Dep<Quota>) -> String {
///     format!("{}: {}", profile.0, quota.0)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let router: Router = Router::new().route("/", get(home)).with_providers(&app);
/// # drop(router);
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct Together<L> {
    _set: std::marker::PhantomData<fn() -> L>,
}

impl<L> Together<L> {
    /// The extractor's value, for a test that calls a handler directly
    /// (`#[handler]` may have put a `Together` in front of its provided
    /// arguments).
    #[must_use]
    pub const fn new() -> Self {
        Self { _set: std::marker::PhantomData }
    }
}

impl<L> Default for Together<L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L> fmt::Debug for Together<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Together").field("types", &std::any::type_name::<L>()).finish()
    }
}

impl<S, L> FromRequestParts<S> for Together<L>
where
    S: ProviderState,
    L: ProvidedSet<S::Registry>,
{
    type Rejection = ProviderRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Decided from the app's plan, before the request's scope is looked
        // up: when nothing waits, this is all it costs.
        if !state.providers().app().inner().plan.may_set_up_together(L::INDICES, true) {
            return Ok(Self::new());
        }
        let scope = scope_of::<S::Registry>(parts)?;
        scope.resolver(parts).set_up_together(L::INDICES, true).await.map_err(ProviderRejection::from)?;
        Ok(Self::new())
    }
}

/// A provided `T` that is set up only if the handler asks for it, with
/// [`get`](Lazy::get): Bocadillo's `lazy=True`.
///
/// Nothing is set up at extraction; `get` sets the value up (and its
/// dependencies) the first time, in the request's scope, so its teardown runs
/// with the request's, and only if it was set up. Later `get`s return the
/// same request-scoped value.
///
/// ```
/// use axum_providers::{Dep, Lazy, ProviderRejection};
/// # use axum_providers::provider;
/// # pub struct Report;
/// # #[provider] fn report() -> Report { Report }
/// # #[axum_providers::providers(report)] struct AppProviders;
/// # fn main() {
/// # let _: axum::routing::MethodRouter<axum_providers::Providers<AppProviders>> =
/// #     axum::routing::get(|report: Lazy<Report>| export(report, true));
/// # }
/// async fn export(report: Lazy<Report>, wanted: bool) -> Result<&'static str, ProviderRejection> {
///     if wanted {
///         let _report: Dep<Report> = report.get().await?; // set up here, torn down with the request
///     }
///     Ok("done")
/// }
/// ```
pub struct Lazy<T> {
    resolve: Box<dyn Fn() -> BoxFuture<'static, Result<Dep<T>, ProviderError>> + Send + Sync>,
}

impl<T> Lazy<T> {
    /// Sets the value up if it was not yet, and returns it.
    ///
    /// # Errors
    ///
    /// The provider's failure, as the rejection to answer with.
    pub async fn get(&self) -> Result<Dep<T>, ProviderRejection> {
        (self.resolve)().await.map_err(ProviderRejection::from)
    }
}

impl<T> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lazy").field("type", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}

impl<S, T> FromRequestParts<S> for Lazy<T>
where
    S: ProviderState,
    S::Registry: Provides<T>,
    <S::Registry as Provides<T>>::Access: Shareable,
    T: SharedValue,
{
    type Rejection = ProviderRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let scope = scope_of::<S::Registry>(parts)?;
        // The value may need the request (its headers, its path): keep a copy
        // of the request's head for when it is asked for.
        let head = parts.clone();
        let resolve = move || -> BoxFuture<'static, Result<Dep<T>, ProviderError>> {
            let scope = scope.clone();
            let mut head = head.clone();
            Box::pin(async move { scope.resolver(&mut head).shared::<T>().await })
        };
        Ok(Self { resolve: Box::new(resolve) })
    }
}

/// The request's scope, from its extensions (put there by the providers layer).
fn scope_of<R: Registry>(parts: &Parts) -> Result<SharedScope<R>, ProviderRejection> {
    SharedScope::of(&parts.extensions).ok_or_else(no_scope::<R>)
}

fn no_scope<R: Registry>() -> ProviderRejection {
    tracing::error!(
        registry = std::any::type_name::<R>(),
        "no request scope: the router's state carries the app container but the request had no \
         request-scope layer; a router given its state by `with_providers` or \
         `with_providers_in_state` has it (a route added after that call, or a layer that drops \
         request extensions, does not)"
    );
    ProviderRejection { provider: None, response: None }
}

/// Why `Dep<T>` or `DepMut<T>` could not be extracted.
///
/// Its response is the failing provider's own (its error's `IntoResponse`, or
/// the rejection of an extractor it used), or a `500 Internal Server Error`
/// whose body reveals nothing internal. The full error is logged with
/// `tracing` when the rejection is created.
pub struct ProviderRejection {
    provider: Option<&'static str>,
    response: Option<Box<Response>>,
}

impl ProviderRejection {
    /// The provider that failed (`None` when the providers layer was missing).
    #[must_use]
    pub fn provider(&self) -> Option<&'static str> {
        self.provider
    }
}

/// In a response's extensions: the response's cause was logged (at error
/// level) when the response was made.
///
/// A provider's error whose `IntoResponse` logs its cause puts it in the
/// response it makes; the rejection of that provider then logs it at debug
/// level only, so the failure is logged once. The database errors of this
/// crate do (`DatabaseError`, for a `5xx`).
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::{IntoResponse, Response};
/// use axum_providers::CauseLogged;
///
/// #[derive(Debug)]
/// pub struct QueueDown(String);
///
/// impl IntoResponse for QueueDown {
///     fn into_response(self) -> Response {
///         tracing::error!(cause = %self.0, "the queue is down");
///         let mut response = (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
///         response.extensions_mut().insert(CauseLogged);
///         response
///     }
/// }
/// # fn main() { assert!(QueueDown("refused".into()).into_response().extensions().get::<CauseLogged>().is_some()); }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CauseLogged;

impl From<ProviderError> for ProviderRejection {
    fn from(mut error: ProviderError) -> Self {
        let response = error.take_response().and_then(|payload| payload.downcast::<Response>().ok());
        match &response {
            Some(response) if response.extensions().get::<CauseLogged>().is_some() => {
                tracing::debug!(provider = error.provider(), status = response.status().as_u16(), "{error}");
            }
            Some(response) if response.status().is_client_error() => {
                tracing::info!(provider = error.provider(), status = response.status().as_u16(), "{error}");
            }
            Some(response) => {
                tracing::error!(provider = error.provider(), status = response.status().as_u16(), "{error}");
            }
            None => tracing::error!(provider = error.provider(), "{error}"),
        }
        Self { provider: Some(error.provider()), response }
    }
}

impl fmt::Debug for ProviderRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderRejection")
            .field("provider", &self.provider)
            .field("status", &self.response.as_ref().map(|response| response.status()))
            .finish()
    }
}

impl IntoResponse for ProviderRejection {
    fn into_response(self) -> Response {
        match self.response {
            Some(response) => *response,
            None => internal_error_response(),
        }
    }
}

/// The `500 Internal Server Error` this crate answers when something fails
/// inside (a provider's error without a response of its own, a panicking
/// handler, a failed commit): its body reveals nothing internal; the cause
/// is logged.
#[must_use]
pub fn internal_error_response() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
}
