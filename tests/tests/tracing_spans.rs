//! Setup and teardown are traced: a `provider.setup` span and a
//! `provider.teardown` span per value, with the provider's name, scope,
//! duration and outcome. (Alone in its test binary: `tracing` caches which
//! callsites are enabled, and tests in parallel threads with and without a
//! subscriber would make that cache race.)

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers_tests::Captured;
use tower::ServiceExt as _;

struct RequestId(String);

#[provider]
fn request_id(headers: HeaderMap) -> RequestId {
    RequestId(headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned())
}

struct RequestLog;

#[provider]
fn request_log(_id: Dep<RequestId>) -> Teardown<RequestLog> {
    Teardown::new(RequestLog, |_, _| async {})
}

#[providers(request_id, request_log, autouse = [request_log])]
struct AppProviders;

#[handler(AppProviders)]
async fn with_id(id: Dep<RequestId>) -> String {
    id.0.clone()
}

#[tokio::test(flavor = "current_thread")]
async fn setup_and_teardown_are_traced_with_provider_scope_duration_and_outcome() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let router: Router = Router::new().route("/id", get(with_id)).with_providers(&app);
    let request = Request::get("/id").header("x-request-id", "t1").body(Body::empty()).expect("request");
    assert_eq!(router.clone().oneshot(request).await.expect("infallible").status(), StatusCode::OK);

    let logs = captured.text();
    let setup = logs
        .lines()
        .find(|line| line.contains("provider.setup") && line.contains("provider=\"request_id\""))
        .unwrap_or_else(|| panic!("no setup span for request_id in {logs}"));
    assert!(setup.contains("scope=\"request\""), "{setup}");
    assert!(setup.contains("elapsed_us="), "{setup}");
    assert!(setup.contains("ok=true"), "{setup}");
    assert!(
        setup.contains("provider.setup{provider=\"request_log\""),
        "a dependency's setup is nested in its dependent's: {setup}"
    );
    let teardown = logs
        .lines()
        .find(|line| line.contains("provider.teardown") && line.contains("provider=\"request_log\""))
        .unwrap_or_else(|| panic!("no teardown span for request_log in {logs}"));
    assert!(teardown.contains("outcome=success"), "{teardown}");
    assert!(teardown.contains("elapsed_us="), "{teardown}");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}
