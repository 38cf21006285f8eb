use axum::Router;
use axum::routing::get;
use axum_providers::prelude::*;

struct Greeting(&'static str);

#[provider(scope = app)]
fn greeting() -> Greeting {
    Greeting("hello")
}

#[providers(greeting)]
struct AppProviders;

#[handler(AppProviders)]
async fn hello(greeting: Dep<Greeting>) -> &'static str {
    greeting.0
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The router uses providers but was never given the app container
    // (`.with_providers(&app)` is missing).
    let router = Router::new().route("/", get(hello));
    axum::serve(listener, router).await.unwrap();
}
