//! The request scope travels with the request: behind middleware that runs
//! the rest of the request on another task (a `from_fn` middleware that
//! spawns, tower's `Buffer`), with the providers layer outside or inside it,
//! every `Dep` resolves and every teardown runs with the response's outcome.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers_tests::Journal;
use tower::ServiceExt as _;
use tower::buffer::BufferLayer;

#[provider(scope = app)]
fn journal() -> Journal {
    Journal::default()
}

struct Caller(String);

#[provider]
fn caller(headers: &HeaderMap, journal: Dep<Journal>) -> Teardown<Caller> {
    let name = headers.get("x-user").and_then(|v| v.to_str().ok()).unwrap_or("stranger").to_owned();
    let journal = journal.clone();
    Teardown::new(Caller(name), move |caller, outcome| async move {
        journal.record(format!("teardown caller {} ({outcome})", caller.0));
    })
}

/// Set up through a future (an `async fn`), on the other task.
struct Greeting(String);

#[provider]
async fn greeting(caller: Dep<Caller>) -> Greeting {
    tokio::task::yield_now().await;
    Greeting(format!("hello, {}", caller.0))
}

#[providers(journal, caller, greeting)]
struct AppProviders;

#[handler(AppProviders)]
async fn hello(greeting: Dep<Greeting>) -> String {
    greeting.0.clone()
}

/// Runs the rest of the request on a task of its own.
async fn spawning(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn buffer_failed(_: tower::BoxError) -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn ask(router: Router, user: &str) -> (StatusCode, String) {
    let request = axum::http::Request::get("/")
        .header("x-user", user)
        .body(axum::body::Body::empty())
        .expect("request");
    let response = router.oneshot(request).await.unwrap_or_else(|never: Infallible| match never {});
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1024).await.expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn check(router: Router, journal: &Journal, user: &str) {
    let (status, body) = ask(router, user).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, format!("hello, {user}").as_str()));
    journal.wait_for(&format!("teardown caller {user} (success)")).await;
}

async fn app() -> (App<AppProviders>, Journal) {
    let app =
        App::<AppProviders>::builder().shutdown_timeout(Duration::from_secs(2)).build().await.expect("app");
    let journal = app.get::<Journal>().await.expect("journal").clone();
    (app, journal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawning_middleware_inside_the_providers_layer() {
    let (app, journal) = app().await;
    let router = Router::new().route("/", get(hello)).layer(from_fn(spawning)).with_providers(&app);
    check(router, &journal, "ada").await;
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawning_middleware_outside_the_providers_layer() {
    let (app, journal) = app().await;
    let router: Router = Router::new().route("/", get(hello)).with_providers(&app).layer(from_fn(spawning));
    check(router, &journal, "grace").await;
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn towers_buffer_inside_the_providers_layer() {
    let (app, journal) = app().await;
    let buffered =
        tower::ServiceBuilder::new().layer(HandleErrorLayer::new(buffer_failed)).layer(BufferLayer::new(8));
    let router = Router::new().route("/", get(hello)).layer(buffered).with_providers(&app);
    check(router, &journal, "alan").await;
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn towers_buffer_outside_the_providers_layer() {
    let (app, journal) = app().await;
    let buffered =
        tower::ServiceBuilder::new().layer(HandleErrorLayer::new(buffer_failed)).layer(BufferLayer::new(8));
    let router: Router = Router::new().route("/", get(hello)).with_providers(&app).layer(buffered);
    check(router, &journal, "edsger").await;
    app.shutdown().await.expect("clean shutdown");
}
