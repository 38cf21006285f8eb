//! The usual axum reflex, `.with_state(app)`, would leave the request-scope
//! layer out: it does not compile.
use axum::{Router, routing::get};
use axum_providers::prelude::*;

#[derive(Clone)]
pub struct Greeting;

#[provider(scope = app)]
fn greeting() -> Greeting {
    Greeting
}

#[providers(greeting)]
struct AppProviders;

async fn show(_greeting: Dep<Greeting>) -> &'static str {
    "hello"
}

async fn serve(app: App<AppProviders>) {
    let _router: Router = Router::new().route("/", get(show)).with_state(app.clone());
}

fn main() {
    let _ = serve;
}
