//! What reaches the logs: the full error of a failing provider (that the client
//! never sees), a conflicting exclusive borrow, and every failed teardown of a
//! request, together and with the provider names.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers_tests::Captured;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

struct Tx;

#[provider(exclusive)]
fn tx() -> Tx {
    Tx
}

struct Secret;

#[provider]
async fn secret() -> Result<Secret, std::io::Error> {
    Err(std::io::Error::other("database password rejected for user app_rw"))
}

struct First;
struct Second;
struct Third;

#[provider]
fn first() -> Teardown<First> {
    Teardown::new(First, |_, _| async { Err(std::io::Error::other("first broke")) })
}

#[provider]
fn second(_first: Dep<First>) -> Teardown<Second> {
    Teardown::new(Second, |_, _| async {})
}

#[provider]
fn third(_second: Dep<Second>) -> Teardown<Third> {
    Teardown::new(Third, |_, _| async { Err(std::io::Error::other("third broke")) })
}

#[providers(tx, secret, first, second, third)]
struct AppProviders;

// Without `#[handler]`, which rejects two `DepMut<Tx>` at compile time.
async fn twice(_a: DepMut<Tx>, _b: DepMut<Tx>) -> &'static str {
    "unreachable"
}

#[handler(AppProviders)]
async fn leak(_secret: Dep<Secret>) -> &'static str {
    "unreachable"
}

#[handler(AppProviders)]
async fn three(_third: Dep<Third>) -> &'static str {
    "three"
}

async fn call(router: &Router, uri: &str) -> (StatusCode, String) {
    let response = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "current_thread")]
async fn errors_reach_the_logs_with_provider_names_and_never_the_client() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let router: Router = Router::new()
        .route("/twice", get(twice))
        .route("/leak", get(leak))
        .route("/three", get(three))
        .with_providers(&app);

    let (status, body) = call(&router, "/twice").await;
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"));
    let logs = captured.text();
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains("(provider `tx`) is already borrowed in this scope"), "{logs}");

    let (status, body) = call(&router, "/leak").await;
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"));
    let logs = captured.text();
    assert!(logs.contains("provider `secret` failed: database password rejected for user app_rw"), "{logs}");

    let (status, _) = call(&router, "/three").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let logs = captured.text();
    let line = logs
        .lines()
        .find(|line| line.contains("teardown(s) failed"))
        .unwrap_or_else(|| panic!("no teardown failure line in {logs}"));
    assert!(line.contains("2 teardown(s) failed"), "{line}");
    assert!(line.contains("teardown of `third` failed: third broke"), "{line}");
    assert!(line.contains("teardown of `first` failed: first broke"), "{line}");
    assert!(line.contains(r#"providers=["third", "first"]"#), "{line}");

    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

struct Held;

#[provider]
fn held() -> Teardown<Held> {
    Teardown::new(Held, |_, _| async {})
}

#[providers(held)]
struct HeldProviders;

#[test]
fn a_scope_dropped_after_its_runtime_is_gone_is_reported_not_run_and_does_not_panic() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let scope = runtime.block_on(async {
        let app = App::<HeldProviders>::builder().build().await.expect("app builds");
        let mut scope = app.scope();
        drop(scope.get::<Held>().await.expect("held"));
        scope
    });
    drop(runtime);
    // No runtime any more: the teardown cannot run, and must not be spawned.
    drop(scope);
    let logs = captured.text();
    assert!(logs.contains("teardown could not run"), "{logs}");
    assert!(logs.contains(r#"providers=["held"]"#), "{logs}");
}
