//! Giving a router its app container.

use axum::Router;
use axum_providers_core::{App, Registry};

use crate::layer::ProvidersLayer;

/// Gives a router the app container its handlers' `Dep`/`DepMut` need.
pub trait RouterExt<R: Registry> {
    /// Adds the request-scope layer to every route added so far and provides
    /// the app container as the router's state (like `with_state`).
    ///
    /// Call it last, after all routes, nested routers and layers were added.
    fn with_providers<S2>(self, app: &App<R>) -> Router<S2>;
}

impl<R: Registry> RouterExt<R> for Router<App<R>> {
    fn with_providers<S2>(self, app: &App<R>) -> Router<S2> {
        self.layer(ProvidersLayer::new(app)).with_state(app.clone())
    }
}
