//! Everything Bocadillo's providers offered, the Rust way: side-effect
//! providers on a route (`Uses`), app-wide providers (`autouse`), lazy values
//! (`Lazy`), factory providers; plus health checks with a readiness route,
//! the dependency graph, and tracing spans.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::{Graph, readiness};
use axum_providers_tests::Journal;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

#[provider(scope = app)]
fn journal() -> Journal {
    Journal::default()
}

/// Read from `x-request-id`.
struct RequestId(String);

#[provider]
fn request_id(headers: HeaderMap, journal: Dep<Journal>) -> RequestId {
    let id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    journal.record(format!("setup request_id {id}"));
    RequestId(id)
}

/// App-wide: one per request, for every request, with dependencies of its own.
struct RequestLog;

#[provider]
fn request_log(id: Dep<RequestId>, journal: Dep<Journal>) -> Teardown<RequestLog> {
    journal.record(format!("setup request_log {}", id.0));
    let (journal, id) = (journal.clone(), id.0.clone());
    Teardown::new(RequestLog, move |_, outcome| async move {
        journal.record(format!("teardown request_log {id} ({outcome})"));
    })
}

/// A guard for admin routes: a side-effect provider that fails with `403`.
struct AdminGuard;

#[derive(Debug)]
struct Forbidden;

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, "admins only").into_response()
    }
}

#[provider]
fn admin_guard(headers: HeaderMap, journal: Dep<Journal>) -> Result<Teardown<AdminGuard>, Forbidden> {
    if headers.get("x-admin").is_none() {
        journal.record("admin_guard refused");
        return Err(Forbidden);
    }
    journal.record("setup admin_guard");
    let journal = journal.clone();
    Ok(Teardown::new(AdminGuard, move |_, outcome| async move {
        journal.record(format!("teardown admin_guard ({outcome})"));
    }))
}

/// Expensive, so lazy.
struct Report(usize);

#[provider]
fn report(journal: Dep<Journal>) -> Teardown<Report> {
    journal.record("setup report");
    let journal = journal.clone();
    Teardown::new(Report(42), move |_, _| async move { journal.record("teardown report") })
}

/// A factory: a small service object that loads notes and returns `404`
/// itself, and cleans up the cache files it created when the request ends.
struct NoteLoader {
    notes: HashMap<u32, &'static str>,
    created: Mutex<Vec<String>>,
}

#[derive(Debug)]
struct NotFound(u32);

impl IntoResponse for NotFound {
    fn into_response(self) -> Response {
        (StatusCode::NOT_FOUND, format!("no note {}", self.0)).into_response()
    }
}

impl NoteLoader {
    fn get(&self, id: u32) -> Result<&'static str, NotFound> {
        let note = self.notes.get(&id).copied().ok_or(NotFound(id))?;
        self.created.lock().expect("created").push(format!("cache-{id}"));
        Ok(note)
    }
}

#[provider]
fn note_loader(journal: Dep<Journal>) -> Teardown<NoteLoader> {
    let loader = NoteLoader { notes: HashMap::from([(1, "first note")]), created: Mutex::new(Vec::new()) };
    let journal = journal.clone();
    Teardown::new(loader, move |loader, _| async move {
        for file in loader.created.into_inner().unwrap_or_default() {
            journal.record(format!("removed {file}"));
        }
    })
}

/// Two app-scoped values with health checks; the second can be made to fail.
struct Database;
struct Cache(Arc<AtomicBool>);

#[provider(scope = app, health = database_ping)]
fn database() -> Database {
    Database
}

async fn database_ping(_database: &Database) -> Result<(), std::io::Error> {
    Ok(())
}

#[provider(scope = app, health = cache_ping)]
fn cache() -> Cache {
    Cache(Arc::new(AtomicBool::new(true)))
}

async fn cache_ping(cache: &Cache) -> Result<(), std::io::Error> {
    if cache.0.load(Ordering::SeqCst) { Ok(()) } else { Err(std::io::Error::other("connection refused")) }
}

#[providers(
    journal,
    request_id,
    request_log,
    admin_guard,
    report,
    note_loader,
    database,
    cache,
    autouse = [request_log]
)]
struct AppProviders;

#[handler(AppProviders)]
async fn plain() -> &'static str {
    "plain"
}

#[handler(AppProviders)]
async fn with_id(id: Dep<RequestId>) -> String {
    id.0.clone()
}

async fn admin() -> &'static str {
    "admin"
}

#[handler(AppProviders)]
async fn maybe_report(
    report: Lazy<Report>,
    Path(wanted): Path<bool>,
) -> Result<String, axum_providers::ProviderRejection> {
    if wanted { Ok(format!("report {}", report.get().await?.0)) } else { Ok("no report".to_owned()) }
}

#[handler(AppProviders)]
async fn note(loader: Dep<NoteLoader>, Path(id): Path<u32>) -> Result<&'static str, NotFound> {
    loader.get(id)
}

async fn app_and_router() -> (App<AppProviders>, Router, Journal) {
    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let journal = app.get::<Journal>().await.expect("journal").clone();
    let router = Router::new()
        .route("/plain", get(plain))
        .route("/id", get(with_id))
        .route("/admin", get(admin).uses::<(AdminGuard,)>())
        .route("/report/{wanted}", get(maybe_report))
        .route("/notes/{id}", get(note))
        .route("/ready", get(readiness::<AppProviders>))
        .with_providers(&app);
    (app, router, journal)
}

async fn call(router: &Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response =
        router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("infallible");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn app_wide_providers_run_once_for_every_request_with_their_dependencies() {
    let (app, router, journal) = app_and_router().await;
    assert_eq!(call(&router, "/plain", &[("x-request-id", "r1")]).await, (StatusCode::OK, "plain".into()));
    assert_eq!(
        journal.take(),
        ["setup request_id r1", "setup request_log r1", "teardown request_log r1 (success)"],
        "a handler that asks for nothing still gets the app-wide provider"
    );
    assert_eq!(call(&router, "/id", &[("x-request-id", "r2")]).await, (StatusCode::OK, "r2".into()));
    assert_eq!(
        journal.take(),
        ["setup request_id r2", "setup request_log r2", "teardown request_log r2 (success)"],
        "the handler's `Dep<RequestId>` is the one the app-wide provider used: set up once"
    );
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn side_effect_providers_guard_a_route_without_the_handler_receiving_them() {
    let (app, router, journal) = app_and_router().await;
    assert_eq!(
        call(&router, "/admin", &[("x-request-id", "a1")]).await,
        (StatusCode::FORBIDDEN, "admins only".into())
    );
    let events = journal.take();
    assert!(events.contains(&"admin_guard refused".to_owned()), "{events:?}");
    assert!(events.contains(&"teardown request_log a1 (setup failed)".to_owned()), "{events:?}");

    let (status, body) = call(&router, "/admin", &[("x-request-id", "a2"), ("x-admin", "yes")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "admin"));
    let events = journal.take();
    assert!(events.contains(&"setup admin_guard".to_owned()), "{events:?}");
    assert!(events.contains(&"teardown admin_guard (success)".to_owned()), "{events:?}");

    assert_eq!(call(&router, "/plain", &[]).await.0, StatusCode::OK, "other routes are not guarded");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_lazy_value_is_set_up_and_torn_down_only_when_asked_for() {
    let (app, router, journal) = app_and_router().await;
    assert_eq!(call(&router, "/report/false", &[]).await, (StatusCode::OK, "no report".into()));
    let events = journal.take();
    assert!(!events.iter().any(|e| e.contains("report") && !e.contains("request_log")), "{events:?}");

    assert_eq!(call(&router, "/report/true", &[]).await, (StatusCode::OK, "report 42".into()));
    let events = journal.take();
    assert!(events.contains(&"setup report".to_owned()), "{events:?}");
    assert!(events.contains(&"teardown report".to_owned()), "{events:?}");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_factory_provider_answers_404_itself_and_cleans_up_what_it_created() {
    let (app, router, journal) = app_and_router().await;
    assert_eq!(call(&router, "/notes/1", &[]).await, (StatusCode::OK, "first note".into()));
    assert!(journal.take().contains(&"removed cache-1".to_owned()));
    assert_eq!(call(&router, "/notes/9", &[]).await, (StatusCode::NOT_FOUND, "no note 9".into()));
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn the_readiness_route_reports_each_health_check() {
    let (app, router, _journal) = app_and_router().await;
    let (status, body) = call(&router, "/ready", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "ready");
    assert_eq!(json["checks"]["database"]["status"], "ok");
    assert_eq!(json["checks"]["cache"]["status"], "ok");

    app.get::<Cache>().await.expect("cache").0.store(false, Ordering::SeqCst);
    let (status, body) = call(&router, "/ready", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "unavailable");
    assert_eq!(json["checks"]["database"]["status"], "ok");
    assert_eq!(json["checks"]["cache"]["status"], "failing");
    assert!(!body.contains("refused"), "the error is logged, not sent: {body}");

    let report = app.health(Duration::from_secs(1)).await;
    assert!(!report.is_ready());
    assert_eq!(report.checks.len(), 2);
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[test]
fn the_graph_prints_as_mermaid_and_dot() {
    let mermaid = Graph::of::<AppProviders>().mermaid();
    assert!(mermaid.starts_with("graph TD\n"), "{mermaid}");
    assert!(mermaid.contains("    p2[\"request_log: RequestLog (request)\"]\n"), "{mermaid}");
    assert!(mermaid.contains("    p2 --> p1\n    p2 --> p0\n"), "{mermaid}");
    let dot = Graph::of::<AppProviders>().dot();
    assert!(dot.contains("    p6 [label=\"database: Database (app)\", style=bold];\n"), "{dot}");
    assert!(dot.contains("    p1 -> p0;\n"), "{dot}");
}
