//! A state of the user's own that carries the app container but never gets
//! the request-scope layer: it cannot be a `ProviderState`, whose `Providers`
//! only come with the layer (`with_providers_in_state`).

use axum::Router;
use axum::routing::get;
use axum_providers::ProviderState;
use axum_providers::prelude::*;

pub struct Greeting;

#[provider(scope = app)]
fn greeting() -> Greeting {
    Greeting
}

#[providers(greeting)]
pub struct AppProviders;

#[derive(Clone)]
struct AppState {
    app: App<AppProviders>,
}

impl ProviderState for AppState {
    type Registry = AppProviders;
}

async fn hello(_greeting: Dep<Greeting>) -> &'static str {
    "hello"
}

async fn serve(app: App<AppProviders>) {
    let _router: Router = Router::new().route("/", get(hello)).with_state(AppState { app });
}

fn main() {
    let _ = serve;
}
