//! Giving a router its app container.

use axum::Router;
use axum::extract::FromRef;
use axum_providers_core::{App, ProviderState, Registry};

use crate::layer::ProvidersLayer;

/// The router state that [`with_providers`](RouterExt::with_providers) gives
/// a router: the app container, together with the request-scope layer. Its
/// handlers' `Dep<T>` need it; `State<App<R>>` extracts the container from
/// it. (The container alone is not such a state: `.with_state(app)` would
/// leave the layer out, and every `Dep` would fail at run time.)
pub struct Providers<R: Registry> {
    app: App<R>,
}

impl<R: Registry> Clone for Providers<R> {
    fn clone(&self) -> Self {
        Self { app: self.app.clone() }
    }
}

impl<R: Registry> ProviderState for Providers<R> {
    type Registry = R;
}

impl<R: Registry> FromRef<Providers<R>> for App<R> {
    fn from_ref(providers: &Providers<R>) -> Self {
        providers.app.clone()
    }
}

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
        self.layer(ProvidersLayer::new(app)).with_state(Providers { app: app.clone() })
    }
}
