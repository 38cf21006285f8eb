//! Giving a router its app container, together with the request-scope layer.

use axum::Router;
use axum_providers_core::{App, ProviderState, Providers, Registry};

use crate::layer::ProvidersLayer;

/// Gives a router the app container its handlers' `Dep`/`DepMut` need.
pub trait RouterExt<R: Registry> {
    /// Adds the request-scope layer to every route added so far and provides
    /// the app container as the router's state (like `with_state`).
    ///
    /// Call it last, after all routes, nested routers and layers were added.
    fn with_providers<S2>(self, app: &App<R>) -> Router<S2>;
}

impl<R: Registry> RouterExt<R> for Router<Providers<R>> {
    fn with_providers<S2>(self, app: &App<R>) -> Router<S2> {
        self.layer(ProvidersLayer::new(app)).with_state(Providers::for_layer(app))
    }
}

/// Gives a router a state of your own that carries the app container.
pub trait RouterStateExt<S: ProviderState> {
    /// Adds the request-scope layer to every route added so far and gives the
    /// router the state `make` builds around the app container's
    /// [`Providers`] (like `with_state`): the only way to get a `Providers`
    /// for a state of your own, so the layer cannot be left out.
    ///
    /// ```
    /// use axum::Router;
    /// use axum::extract::State;
    /// use axum::routing::get;
    /// use axum_providers::prelude::*;
    /// use axum_providers::{ProviderState, Providers};
    ///
    /// pub struct Greeting(&'static str);
    ///
    /// #[provider(scope = app)]
    /// fn greeting() -> Greeting {
    ///     Greeting("hello")
    /// }
    ///
    /// #[providers(greeting)]
    /// pub struct AppProviders;
    ///
    /// #[derive(Clone)]
    /// struct AppState {
    ///     providers: Providers<AppProviders>,
    ///     motto: &'static str,
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
    /// async fn motto(State(state): State<AppState>, greeting: Dep<Greeting>) -> String {
    ///     format!("{}: {}", greeting.0, state.motto)
    /// }
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let app = App::<AppProviders>::builder().build().await?;
    /// let router: Router = Router::new()
    ///     .route("/", get(motto))
    ///     .with_providers_in_state(&app, |providers| AppState { providers, motto: "be kind" });
    /// # Ok(()) }
    /// # fn main() {}
    /// ```
    fn with_providers_in_state<S2>(
        self,
        app: &App<S::Registry>,
        make: impl FnOnce(Providers<S::Registry>) -> S,
    ) -> Router<S2>;
}

impl<S: ProviderState + Clone> RouterStateExt<S> for Router<S> {
    fn with_providers_in_state<S2>(
        self,
        app: &App<S::Registry>,
        make: impl FnOnce(Providers<S::Registry>) -> S,
    ) -> Router<S2> {
        self.layer(ProvidersLayer::new(app)).with_state(make(Providers::for_layer(app)))
    }
}
