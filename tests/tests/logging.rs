//! What reaches the logs: the full error of a failing provider (that the client
//! never sees), a conflicting exclusive borrow, every failed teardown of a
//! request, together and with the provider names, and an app value that a
//! `Dep` still holds when shutdown wants to tear it down.

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

struct Rows;

#[provider]
async fn rows() -> Result<Rows, axum_providers::sqlx::DatabaseError> {
    Err(axum_providers::sqlx::DatabaseError::failed(std::io::Error::other(
        "relation \"notes\" does not exist",
    )))
}

#[providers(tx, secret, first, second, third, rows)]
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
async fn database(_rows: Dep<Rows>) -> &'static str {
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
        .route("/database", get(database))
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

    // A database error from a provider: logged once, by the error itself.
    let (status, body) = call(&router, "/database").await;
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"));
    let logs = captured.text();
    let logged: Vec<_> = logs.lines().filter(|line| line.contains("does not exist")).collect();
    assert_eq!(logged.len(), 1, "{logs}");
    assert!(logged[0].contains("ERROR"), "{logs}");

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

/// An app value with a teardown, read with `App::get`.
pub struct Pool;

#[provider(scope = app)]
fn pool() -> Teardown<Pool> {
    Teardown::new(Pool, |_, _| async {})
}

#[providers(pool)]
struct PoolProviders;

/// The two shutdown tests hit the same `warn!` callsite. Run in one process
/// (`cargo test`), a test without a subscriber can register it while the
/// other's thread-local subscriber is not yet known, and the callsite's
/// cached interest then drops the other's warning: they take turns.
static SHUTDOWN_WARNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits (up to 5 s) until the logs contain `text`.
async fn logged(captured: &Captured, text: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let logs = captured.text();
        if logs.contains(text) || started.elapsed() > std::time::Duration::from_secs(5) {
            return logs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_dep_from_app_get_held_at_shutdown_is_named_at_once_and_released_by_its_drop() {
    let _turn = SHUTDOWN_WARNING.lock().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = App::<PoolProviders>::builder().build().await.expect("app builds");
    let held = app.get::<Pool>().await.expect("pool");
    let started = std::time::Instant::now();
    let shutdown = tokio::spawn({
        let app = app.clone();
        async move { app.shutdown().await }
    });
    let logs = logged(&captured, "app shutdown waits for").await;
    let line = logs
        .lines()
        .find(|line| line.contains("app shutdown waits for"))
        .unwrap_or_else(|| panic!("no warning about the held value in {logs}"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "warned only after {:?}",
        started.elapsed()
    );
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("waits for `logging::Pool` (provider `pool`)"), "{line}");
    assert!(line.contains("App::get"), "{line}");
    assert!(!shutdown.is_finished(), "shutdown waits for the value");

    drop(held);
    let result = tokio::time::timeout(std::time::Duration::from_secs(5), shutdown).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "the drop lets the teardown run: {result:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_dep_held_past_the_deadline_fails_shutdown_naming_the_provider() {
    let _turn = SHUTDOWN_WARNING.lock().await;
    let app = App::<PoolProviders>::builder()
        .shutdown_timeout(std::time::Duration::from_millis(50))
        .build()
        .await
        .expect("app builds");
    let held = app.get::<Pool>().await.expect("pool");
    let errors = app.shutdown().await.expect_err("the held value's teardown cannot run");
    let providers: Vec<_> = errors.errors().iter().map(|error| error.provider).collect();
    assert_eq!(providers, ["pool"]);
    assert!(errors.to_string().contains("value still in use at shutdown"), "{errors}");
    drop(held);
}
