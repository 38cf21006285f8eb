//! Concurrent setup: the independent providers a handler (or a provider)
//! needs are set up side by side in the request's task, each once, and torn
//! down in the reverse order of setup completion.
//!
//! Time is tokio's paused clock: a provider that sleeps 100 ms takes 100 ms
//! of virtual time, so the figures below are exact, not measured.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::{Scope, Together};
use axum_providers_tests::Journal;
use http_body_util::BodyExt as _;
use tokio::sync::Barrier;
use tokio::time::Instant;
use tower::ServiceExt as _;

const WAIT: Duration = Duration::from_millis(100);

#[provider(scope = app)]
fn journal() -> Journal {
    Journal::default()
}

/// Three values whose providers each wait (an auth lookup, a cache read, a
/// pool acquire).
pub struct Auth;
/// A provided value.
pub struct Cached;
/// A provided value.
pub struct Pooled;

async fn wait_and_record<T: Send + 'static>(
    journal: &Journal,
    name: &str,
    wait: Duration,
    value: T,
) -> Teardown<T> {
    journal.record(format!("start {name}"));
    tokio::time::sleep(wait).await;
    journal.record(format!("ready {name}"));
    let (journal, name) = (journal.clone(), name.to_owned());
    Teardown::new(
        value,
        move |_, outcome| async move { journal.record(format!("teardown {name} ({outcome})")) },
    )
}

#[provider]
async fn auth(journal: Dep<Journal>) -> Teardown<Auth> {
    wait_and_record(&journal, "auth", WAIT * 3 / 10, Auth).await
}

#[provider]
async fn cached(journal: Dep<Journal>) -> Teardown<Cached> {
    wait_and_record(&journal, "cached", WAIT, Cached).await
}

#[provider]
async fn pooled(journal: Dep<Journal>) -> Teardown<Pooled> {
    wait_and_record(&journal, "pooled", WAIT * 2 / 10, Pooled).await
}

/// Depends on the three: its setup waits for them, set up together.
pub struct Page;

#[provider]
async fn page(
    _auth: Dep<Auth>,
    _cached: Dep<Cached>,
    _pooled: Dep<Pooled>,
    journal: Dep<Journal>,
) -> Teardown<Page> {
    wait_and_record(&journal, "page", Duration::ZERO, Page).await
}

/// A request value two others depend on: set up once.
pub struct Session;
/// A provided value.
pub struct Left;
/// A provided value.
pub struct Right;

#[provider]
async fn session(journal: Dep<Journal>) -> Session {
    journal.record("setup session");
    tokio::time::sleep(WAIT / 10).await;
    Session
}

#[provider]
async fn left(_session: Dep<Session>, journal: Dep<Journal>) -> Left {
    tokio::time::sleep(WAIT).await;
    journal.record("setup left");
    Left
}

#[provider]
async fn right(_session: Dep<Session>, journal: Dep<Journal>) -> Right {
    tokio::time::sleep(WAIT).await;
    journal.record("setup right");
    Right
}

/// Two values that meet at a barrier: set up one after the other, they would
/// wait for each other forever.
pub struct Ping;
/// A provided value.
pub struct Pong;

#[provider(scope = app)]
fn barrier() -> Arc<Barrier> {
    Arc::new(Barrier::new(2))
}

#[provider]
async fn ping(barrier: Dep<Arc<Barrier>>) -> Ping {
    barrier.wait().await;
    Ping
}

#[provider]
async fn pong(barrier: Dep<Arc<Barrier>>) -> Pong {
    barrier.wait().await;
    Pong
}

/// Two values that read the request's head (which one setup at a time holds).
pub struct Tenant(String);
/// A provided value.
pub struct Locale(String);

#[provider]
async fn tenant(headers: HeaderMap) -> Tenant {
    tokio::time::sleep(WAIT).await;
    Tenant(header(&headers, "x-tenant"))
}

#[provider]
async fn locale(headers: &HeaderMap) -> Locale {
    let locale = header(headers, "accept-language");
    tokio::time::sleep(WAIT).await;
    Locale(locale)
}

/// Borrows the request's head for its whole setup, as `locale` does.
pub struct Agent(String);

#[provider]
async fn agent(headers: &HeaderMap) -> Agent {
    let agent = header(headers, "user-agent");
    tokio::time::sleep(WAIT).await;
    Agent(agent)
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("-").to_owned()
}

/// An exclusive value that two providers borrow in their setup, one at a time.
pub struct Connection(u32);
/// A provided value.
pub struct Reader(u32);
/// A provided value.
pub struct Writer(u32);

#[provider(exclusive)]
async fn connection() -> Connection {
    tokio::time::sleep(WAIT / 10).await;
    Connection(0)
}

#[provider]
async fn reader(mut connection: DepMut<Connection>) -> Reader {
    connection.0 += 1;
    tokio::time::sleep(WAIT).await;
    Reader(connection.0)
}

#[provider]
async fn writer(mut connection: DepMut<Connection>) -> Writer {
    connection.0 += 1;
    tokio::time::sleep(WAIT).await;
    Writer(connection.0)
}

/// Fails after a while; `Slow` is still being set up then.
pub struct Failing;
/// A provided value.
pub struct Slow;

#[derive(Debug)]
struct Unavailable;

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response()
    }
}

#[provider]
async fn failing(journal: Dep<Journal>) -> Result<Failing, Unavailable> {
    tokio::time::sleep(WAIT / 2).await;
    journal.record("failing failed");
    Err(Unavailable)
}

#[provider]
async fn slow(journal: Dep<Journal>) -> Teardown<Slow> {
    wait_and_record(&journal, "slow", WAIT, Slow).await
}

#[providers(
    journal, auth, cached, pooled, page, session, left, right, barrier, ping, pong, tenant, locale, agent,
    connection, reader, writer, failing, slow
)]
struct AppProviders;

#[handler(AppProviders)]
async fn three(_auth: Dep<Auth>, _cached: Dep<Cached>, _pooled: Dep<Pooled>) -> &'static str {
    "ok"
}

/// The same handler without `#[handler]`: axum extracts one after the other.
async fn three_in_turn(_auth: Dep<Auth>, _cached: Dep<Cached>, _pooled: Dep<Pooled>) -> &'static str {
    "ok"
}

/// Without `#[handler]` but with `Together` in front.
async fn three_together(
    _: Together<(Auth, Cached, Pooled)>,
    _auth: Dep<Auth>,
    _cached: Dep<Cached>,
    _pooled: Dep<Pooled>,
) -> &'static str {
    "ok"
}

/// One provided argument, whose provider depends on the three.
async fn page_handler(_page: Dep<Page>) -> &'static str {
    "ok"
}

#[handler(AppProviders)]
async fn shared(_left: Dep<Left>, _right: Dep<Right>, _session: Dep<Session>) -> &'static str {
    "ok"
}

#[handler(AppProviders)]
async fn met(_ping: Dep<Ping>, _pong: Dep<Pong>) -> &'static str {
    "met"
}

#[handler(AppProviders)]
async fn head(tenant: Dep<Tenant>, locale: Dep<Locale>) -> String {
    format!("{} {}", tenant.0, locale.0)
}

#[handler(AppProviders)]
async fn borrowed_head(locale: Dep<Locale>, agent: Dep<Agent>) -> String {
    format!("{} {}", locale.0, agent.0)
}

#[handler(AppProviders)]
async fn borrowers(reader: Dep<Reader>, writer: Dep<Writer>, connection: DepMut<Connection>) -> String {
    format!("{} {} {}", reader.0, writer.0, connection.0)
}

#[handler(AppProviders)]
async fn fails(_slow: Dep<Slow>, _failing: Dep<Failing>, _cached: Dep<Cached>) -> &'static str {
    "unreachable"
}

async fn app() -> (App<AppProviders>, Router, Journal) {
    let app = App::<AppProviders>::builder().build().await.expect("build");
    let journal = app.get::<Journal>().await.expect("journal").clone();
    let router = Router::new()
        .route("/three", get(three))
        .route("/three-in-turn", get(three_in_turn))
        .route("/three-together", get(three_together))
        .route("/page", get(page_handler))
        .route("/shared", get(shared))
        .route("/met", get(met))
        .route("/head", get(head))
        .route("/borrowed-head", get(borrowed_head))
        .route("/borrowers", get(borrowers))
        .route("/fails", get(fails))
        .with_providers(&app);
    (app, router, journal)
}

/// The status, the body and the virtual time the request took.
async fn call(router: &Router, request: Request<Body>) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), started.elapsed())
}

async fn get_path(router: &Router, path: &str) -> (StatusCode, String, Duration) {
    call(router, Request::get(path).body(Body::empty()).expect("request")).await
}

#[tokio::test(start_paused = true)]
async fn a_handler_with_attribute_sets_up_its_independent_arguments_together() {
    let (app, router, journal) = app().await;
    let (status, _, together) = get_path(&router, "/three").await;
    assert_eq!(status, StatusCode::OK);
    // The longest of the three (100 ms), not their sum (150 ms).
    assert_eq!(together, WAIT);
    let events = journal.take();
    let started: Vec<_> = events.iter().take(3).cloned().collect();
    assert_eq!(started, ["start auth", "start cached", "start pooled"], "{events:?}");

    let (status, _, in_turn) = get_path(&router, "/three-in-turn").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(in_turn, WAIT * 15 / 10, "without the attribute, one after the other");
    journal.clear();

    let (status, _, explicit) = get_path(&router, "/three-together").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(explicit, WAIT);
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn teardown_runs_in_reverse_order_of_setup_completion() {
    let (app, router, journal) = app().await;
    let (status, _, took) = get_path(&router, "/page").await;
    assert_eq!(status, StatusCode::OK);
    // A provider's own dependencies are set up together too.
    assert_eq!(took, WAIT);
    let events = journal.take();
    let ready: Vec<_> = events.iter().filter(|event| event.starts_with("ready")).cloned().collect();
    // Completion order: pooled (20 ms), auth (30 ms), cached (100 ms), then
    // page, which waited for the three.
    assert_eq!(ready, ["ready pooled", "ready auth", "ready cached", "ready page"], "{events:?}");
    let teardowns: Vec<_> = events.iter().filter(|event| event.starts_with("teardown")).cloned().collect();
    assert_eq!(
        teardowns,
        [
            "teardown page (success)",
            "teardown cached (success)",
            "teardown auth (success)",
            "teardown pooled (success)"
        ],
        "{events:?}"
    );
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_value_two_branches_need_is_set_up_once() {
    let (app, router, journal) = app().await;
    let (status, _, took) = get_path(&router, "/shared").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(took, WAIT + WAIT / 10, "session, then left and right together");
    assert_eq!(journal.count("setup session"), 1, "{:?}", journal.events());
    assert_eq!(journal.count("setup left"), 1);
    assert_eq!(journal.count("setup right"), 1);
    app.shutdown().await.expect("shutdown");
}

/// Real time: set up one after the other, the two providers would wait for
/// each other at the barrier forever.
#[tokio::test]
async fn independent_setups_make_progress_side_by_side() {
    let (app, router, _) = app().await;
    let (status, body, _) = tokio::time::timeout(Duration::from_secs(10), get_path(&router, "/met"))
        .await
        .expect("the two setups met at the barrier");
    assert_eq!((status, body.as_str()), (StatusCode::OK, "met"));
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn setups_that_read_the_request_take_turns_only_while_they_read_it() {
    let (app, router, _) = app().await;
    let request = || {
        Request::get("/head")
            .header("x-tenant", "acme")
            .header("accept-language", "fr")
            .header("user-agent", "curl")
            .body(Body::empty())
            .expect("request")
    };
    let (status, body, took) = call(&router, request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "acme fr"));
    assert_eq!(took, WAIT, "an extractor's provider gives the request's head back once it ran");

    let mut borrowing = request();
    *borrowing.uri_mut() = "/borrowed-head".parse().expect("uri");
    let (status, body, took) = call(&router, borrowing).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "fr curl"));
    assert_eq!(took, WAIT * 2, "a provider that borrows from the request holds it for its whole setup");
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn setups_that_borrow_an_exclusive_value_take_turns() {
    let (app, router, _) = app().await;
    let (status, body, _) = get_path(&router, "/borrowers").await;
    // Both borrowed the connection (one after the other), and the handler
    // after them.
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut counts: Vec<u32> = body.split(' ').map(|count| count.parse().expect("a count")).collect();
    assert_eq!(counts.pop(), Some(2));
    counts.sort_unstable();
    assert_eq!(counts, [1, 2]);
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_failure_cancels_the_setups_in_progress_and_is_the_response() {
    let (app, router, journal) = app().await;
    let (status, body, took) = get_path(&router, "/fails").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "try later"));
    assert_eq!(took, WAIT / 2, "answered when the failure came, not when the others would finish");
    tokio::time::sleep(WAIT * 2).await;
    let events = journal.take();
    // `slow` and `cached` had started; they never finished, so nothing of
    // theirs is torn down.
    assert!(events.contains(&"start slow".to_owned()), "{events:?}");
    assert!(events.contains(&"failing failed".to_owned()), "{events:?}");
    assert!(!events.iter().any(|event| event.starts_with("ready")), "{events:?}");
    assert!(!events.iter().any(|event| event.starts_with("teardown")), "{events:?}");
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_scope_opened_by_hand_sets_up_dependencies_together() {
    let (app, _, journal) = app().await;
    let mut scope: Scope<AppProviders> = app.scope();
    let started = Instant::now();
    let _page = scope.get::<Page>().await.expect("page");
    assert_eq!(started.elapsed(), WAIT);
    drop(_page);
    scope.close(Outcome::Success).await.expect("close");
    assert_eq!(journal.count("teardown page (success)"), 1);
    app.shutdown().await.expect("shutdown");
}
