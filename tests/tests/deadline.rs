//! Request deadlines: a slow provider or a slow query cut at the deadline
//! (`503`, teardowns with `Outcome::TimedOut`, the transaction rolled back),
//! the wait for a connection bounded by it, a route's deadline over the
//! app-wide one, and `Deadline` read by providers, handlers and hand-opened
//! scopes. The database tests run against a real PostgreSQL, each in a fresh
//! database (`#[sqlx::test]`, from `DATABASE_URL`).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::{Deadline, RequestDeadline};
use axum_providers_tests::Journal;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// Sends `GET path` through `router`: status, `Retry-After`, body.
async fn send(router: &Router, path: &str) -> (u16, Option<String>, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, retry_after, String::from_utf8(body.to_vec()).expect("utf-8"))
}

fn cut_body(ms: u64) -> String {
    format!(
        "service unavailable: the request did not finish within its deadline of {ms} ms; try again shortly\n"
    )
}

mod slow_provider {
    use super::*;

    #[provider(scope = app)]
    fn journal() -> Journal {
        Journal::default()
    }

    pub(crate) struct Audit;

    /// Set up at once; its teardown records the outcome.
    #[provider]
    fn audit(journal: Dep<Journal>) -> Teardown<Audit> {
        let journal = (*journal).clone();
        Teardown::new(Audit, move |_, outcome| async move { journal.record(format!("audit: {outcome}")) })
    }

    pub(crate) struct Slow;

    /// Takes 10 s to set up (after `Audit`).
    #[provider]
    async fn slow(journal: Dep<Journal>, _audit: Dep<Audit>) -> Teardown<Slow> {
        journal.record("slow: started");
        tokio::time::sleep(Duration::from_secs(10)).await;
        journal.record("slow: ready");
        let journal = (*journal).clone();
        Teardown::new(Slow, move |_, outcome| async move { journal.record(format!("slow: {outcome}")) })
    }

    /// The time left, in ms, when it is set up.
    pub(crate) struct Left(Option<u128>);

    #[provider]
    fn left(deadline: Deadline) -> Left {
        Left(deadline.remaining().map(|left| left.as_millis()))
    }

    #[providers(journal, audit, slow, left)]
    pub(crate) struct AppProviders;

    #[handler(AppProviders)]
    async fn needs_slow(_audit: Dep<Audit>, _slow: Dep<Slow>) -> &'static str {
        "never"
    }

    #[handler(AppProviders)]
    async fn fast(_audit: Dep<Audit>) -> &'static str {
        "fast"
    }

    /// Sleeps `ms` in the handler, after setting `Audit` up.
    #[handler(AppProviders)]
    async fn nap(_audit: Dep<Audit>, Path(ms): Path<u64>) -> &'static str {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        "rested"
    }

    /// The time left as the provider and as the handler see it.
    #[handler(AppProviders)]
    async fn remaining(left: Dep<Left>, deadline: Deadline) -> String {
        let show = |left: Option<u128>| left.map_or_else(|| "none".to_owned(), |ms| ms.to_string());
        format!("{} {}", show(left.0), show(deadline.remaining().map(|left| left.as_millis())))
    }

    pub(crate) async fn app(deadline: Option<Duration>) -> (App<AppProviders>, Journal) {
        let journal = Journal::default();
        let builder = App::<AppProviders>::builder().override_value(journal.clone());
        let builder = match deadline {
            Some(deadline) => builder.request_deadline(deadline),
            None => builder,
        };
        (builder.build().await.expect("app builds"), journal)
    }

    pub(crate) fn router(app: &App<AppProviders>) -> Router {
        Router::new()
            .route("/slow", get(needs_slow))
            .route("/fast", get(fast))
            .route("/nap/{ms}", get(nap))
            .route("/long/{ms}", get(nap).route_layer(RequestDeadline::new(Duration::from_secs(5))))
            .route("/short/{ms}", get(nap).route_layer(RequestDeadline::new(Duration::from_millis(50))))
            .route("/remaining", get(remaining))
            .route(
                "/remaining-route",
                get(remaining).route_layer(RequestDeadline::new(Duration::from_millis(500))),
            )
            .with_providers(app)
    }

    pub(crate) async fn get_left(app: &App<AppProviders>) -> Option<u128> {
        let mut scope = app.scope();
        let left = scope.get::<Left>().await.expect("`Deadline` resolves outside HTTP").0;
        scope.close(Outcome::Success).await.expect("closes");
        left
    }
}

/// Every test here cuts a request, which logs at one `warn!` callsite. Run in
/// one process (`cargo test`), a test without a subscriber can register that
/// callsite while the logging test's thread-local subscriber is not yet
/// known, and the callsite's cached interest then drops the logging test's
/// line (1 to 5 runs in 8 failed): they take turns.
static CUT_LOG: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn a_slow_provider_is_cut_at_the_deadline_and_the_values_before_it_see_timed_out() {
    let _turn = CUT_LOG.lock().await;
    let (app, journal) = slow_provider::app(Some(Duration::from_millis(300))).await;
    let router = slow_provider::router(&app);

    let started = Instant::now();
    let (status, retry_after, body) = send(&router, "/slow").await;
    let waited = started.elapsed();
    assert_eq!((status, retry_after.as_deref(), body), (503, Some("1"), cut_body(300)));
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}; the provider takes 10 s");
    // Torn down before the response, with the deadline's outcome; the slow
    // provider's setup was dropped, so it has nothing to tear down.
    assert_eq!(journal.take(), ["slow: started", "audit: timed out"]);

    // The next requests are served as usual.
    assert_eq!(send(&router, "/fast").await, (200, None, "fast".to_owned()));
    assert_eq!(journal.take(), ["audit: success"]);
    app.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "current_thread")]
async fn a_cut_is_logged_once_at_warn_with_the_method_the_path_and_the_deadline() {
    let _turn = CUT_LOG.lock().await;
    let captured = axum_providers_tests::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // The callsite's cached interest, recomputed with this subscriber (see `CUT_LOG`).
    tracing::callsite::rebuild_interest_cache();
    let (app, _journal) = slow_provider::app(Some(Duration::from_millis(100))).await;
    let router = slow_provider::router(&app);

    assert_eq!(send(&router, "/nap/5000").await.0, 503);
    let logs = captured.text();
    let lines: Vec<&str> = logs.lines().filter(|line| line.contains("deadline")).collect();
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(lines[0].contains("WARN"), "{logs}");
    assert!(lines[0].contains("request cut at its deadline (100 ms)"), "{logs}");
    assert!(lines[0].contains("method=GET") && lines[0].contains("path=/nap/5000"), "{logs}");
    app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_handler_cut_at_the_deadline_answers_503_and_its_scope_sees_timed_out() {
    let _turn = CUT_LOG.lock().await;
    let (app, journal) = slow_provider::app(Some(Duration::from_millis(200))).await;
    let router = slow_provider::router(&app);

    assert_eq!(send(&router, "/nap/5000").await, (503, Some("1".to_owned()), cut_body(200)));
    assert_eq!(journal.take(), ["audit: timed out"]);
    assert_eq!(send(&router, "/nap/1").await, (200, None, "rested".to_owned()));
    assert_eq!(journal.take(), ["audit: success"]);
    app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_route_deadline_overrides_the_app_wide_one_longer_or_shorter() {
    let _turn = CUT_LOG.lock().await;
    let (app, journal) = slow_provider::app(Some(Duration::from_millis(200))).await;
    let router = slow_provider::router(&app);

    // Longer: 5 s on the route, over the app's 200 ms.
    assert_eq!(send(&router, "/long/500").await, (200, None, "rested".to_owned()));
    assert_eq!(journal.take(), ["audit: success"]);
    // Shorter: 50 ms on the route, under the app's 200 ms.
    assert_eq!(send(&router, "/short/150").await, (503, Some("1".to_owned()), cut_body(50)));
    assert_eq!(journal.take(), ["audit: timed out"]);
    // Without an app-wide deadline, the route's still applies.
    let (plain, journal) = slow_provider::app(None).await;
    let router = slow_provider::router(&plain);
    assert_eq!(send(&router, "/nap/300").await, (200, None, "rested".to_owned()));
    assert_eq!(send(&router, "/short/5000").await, (503, Some("1".to_owned()), cut_body(50)));
    assert_eq!(journal.take(), ["audit: success", "audit: timed out"]);
    app.shutdown().await.expect("shutdown");
    plain.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_deadline_layer_outside_with_providers_still_tears_down_with_timed_out() {
    let _turn = CUT_LOG.lock().await;
    let (app, journal) = slow_provider::app(None).await;
    let router = slow_provider::router(&app).layer(RequestDeadline::new(Duration::from_millis(100)));

    assert_eq!(send(&router, "/slow").await, (503, Some("1".to_owned()), cut_body(100)));
    // The scope was dropped, not closed: torn down in the background.
    journal.wait_for("audit: timed out").await;
    assert_eq!(send(&router, "/fast").await, (200, None, "fast".to_owned()));
    app.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn providers_and_handlers_read_the_deadline_and_a_hand_opened_scope_has_none() {
    let _turn = CUT_LOG.lock().await;
    let (app, _journal) = slow_provider::app(Some(Duration::from_secs(2))).await;
    let router = slow_provider::router(&app);
    let left = |body: &str| -> Vec<u128> {
        body.split(' ').map(|ms| ms.parse().unwrap_or_else(|_| panic!("a number of ms: {body}"))).collect()
    };

    let (status, _, body) = send(&router, "/remaining").await;
    assert_eq!(status, 200);
    let [provider, handler] = left(&body)[..] else { panic!("two numbers: {body}") };
    assert!(0 < handler && handler <= provider && provider <= 2000, "{body}");

    let (status, _, body) = send(&router, "/remaining-route").await;
    assert_eq!(status, 200);
    let [provider, handler] = left(&body)[..] else { panic!("two numbers: {body}") };
    assert!(0 < handler && handler <= provider && provider <= 500, "the route's deadline: {body}");

    // Outside HTTP, a provider that takes `Deadline` still runs: no deadline.
    assert_eq!(slow_provider::get_left(&app).await, None);

    let (plain, _journal) = slow_provider::app(None).await;
    let router = slow_provider::router(&plain);
    assert_eq!(send(&router, "/remaining").await, (200, None, "none none".to_owned()));
    app.shutdown().await.expect("shutdown");
    plain.shutdown().await.expect("shutdown");
}

mod sqlx_postgres {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sqlx::{PgPool, Postgres, Transaction};

    use super::*;
    use axum_providers::sqlx::{DatabaseError, DatabaseSettings};

    #[provider(scope = app)]
    fn settings() -> DatabaseSettings {
        DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres")
    }

    #[providers(settings, axum_providers::sqlx::postgres::pool, axum_providers::sqlx::postgres::transaction)]
    struct DbProviders;

    /// Inserts item `id`, then sleeps `seconds` in the database.
    #[handler(DbProviders)]
    async fn insert_then_sleep(
        mut tx: DepMut<Transaction<'static, Postgres>>,
        Path((id, seconds)): Path<(i32, f64)>,
    ) -> Result<StatusCode, DatabaseError> {
        sqlx::query("INSERT INTO items (id) VALUES ($1)").bind(id).execute(&mut **tx).await?;
        sqlx::query("SELECT pg_sleep($1)").bind(seconds).execute(&mut **tx).await?;
        Ok(StatusCode::CREATED)
    }

    #[handler(DbProviders)]
    async fn ping(mut tx: DepMut<Transaction<'static, Postgres>>) -> Result<String, DatabaseError> {
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut **tx).await?;
        Ok(one.to_string())
    }

    async fn start(
        connect: &PgConnectOptions,
        settings: impl FnOnce(DatabaseSettings) -> DatabaseSettings,
        deadline: Duration,
    ) -> (App<DbProviders>, Router, PgPool) {
        let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
        sqlx::query("CREATE TABLE items (id INT PRIMARY KEY)").execute(&seed).await.expect("table");
        let database = connect.get_database().expect("a test database");
        let url = format!("postgres://postgres@127.0.0.1:5432/{database}");
        let app = App::<DbProviders>::builder()
            .override_value(settings(DatabaseSettings::new(url)))
            .request_deadline(deadline)
            .build()
            .await
            .expect("app builds (is PostgreSQL running?)");
        let router = Router::new()
            .route("/insert/{id}/{seconds}", get(insert_then_sleep))
            .route("/ping", get(ping))
            .with_providers(&app);
        (app, router, seed)
    }

    async fn rows(seed: &PgPool) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM items").fetch_one(seed).await.expect("count")
    }

    /// Statements still running `pg_sleep` in the test's database.
    async fn sleeping(seed: &PgPool) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
        )
        .fetch_one(seed)
        .await
        .expect("activity")
    }

    #[sqlx::test(migrations = false)]
    async fn a_slow_query_is_cut_at_the_deadline_and_its_transaction_rolled_back(
        _: PgPoolOptions,
        connect: PgConnectOptions,
    ) {
        let _turn = super::CUT_LOG.lock().await;
        // The statement timeout is 30 s (the default); the deadline 500 ms.
        let (app, router, seed) = start(&connect, |settings| settings, Duration::from_millis(500)).await;

        let started = Instant::now();
        let answer = send(&router, "/insert/1/10").await;
        let waited = started.elapsed();
        assert_eq!(answer, (503, Some("1".to_owned()), cut_body(500)));
        // The rollback ran before the response, so the database cancelled
        // the statement at the deadline: not after its 10 s.
        assert!(waited < Duration::from_secs(5), "answered after {waited:?}; the statement takes 10 s");
        // The database cancels the statement at the deadline (at once, as a
        // rule: the rollback waited for it; a bit later when the request was
        // dropped while its statement was still being sent, which loses the
        // connection), well before its 10 s.
        let cut = Instant::now();
        while sleeping(&seed).await > 0 {
            assert!(cut.elapsed() < Duration::from_secs(3), "the statement still runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(rows(&seed).await, 0, "rolled back");

        // The connection is fine for the next request, whose statement
        // timeout is the configured one again.
        assert_eq!(send(&router, "/ping").await, (200, None, "1".to_owned()));
        assert_eq!(send(&router, "/insert/2/0.1").await.0, 201);
        assert_eq!(rows(&seed).await, 1);
        app.shutdown().await.expect("shutdown");
    }

    #[sqlx::test(migrations = false)]
    async fn a_shorter_statement_timeout_is_kept_under_a_longer_deadline(
        _: PgPoolOptions,
        connect: PgConnectOptions,
    ) {
        let _turn = super::CUT_LOG.lock().await;
        let configured = |settings: DatabaseSettings| settings.statement_timeout(Duration::from_millis(200));
        let (app, router, seed) = start(&connect, configured, Duration::from_secs(20)).await;

        // The database's own timeout (200 ms) cuts the statement, not the deadline.
        let (status, _, body) = send(&router, "/insert/1/10").await;
        assert_eq!(
            (status, body.as_str()),
            (503, "service unavailable: the database did not answer in time; try again shortly\n")
        );
        assert_eq!(rows(&seed).await, 0, "rolled back");
        app.shutdown().await.expect("shutdown");
    }

    #[sqlx::test(migrations = false)]
    async fn the_wait_for_a_connection_ends_at_the_deadline(_: PgPoolOptions, connect: PgConnectOptions) {
        let _turn = super::CUT_LOG.lock().await;
        let exhausted =
            |settings: DatabaseSettings| settings.max_connections(1).acquire_timeout(Duration::from_secs(20));
        let (app, router, _seed) = start(&connect, exhausted, Duration::from_millis(300)).await;
        let pool = app.get::<PgPool>().await.expect("the pool");
        let held = pool.acquire().await.expect("the only connection");

        let started = Instant::now();
        let answer = send(&router, "/ping").await;
        let waited = started.elapsed();
        assert_eq!(answer, (503, Some("1".to_owned()), cut_body(300)));
        assert!(waited < Duration::from_secs(5), "answered after {waited:?}; the acquire timeout is 20 s");

        drop(held);
        assert_eq!(send(&router, "/ping").await, (200, None, "1".to_owned()));
        drop(pool);
        app.shutdown().await.expect("shutdown");
    }
}

mod deadpool {
    use sqlx::PgPool;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    use super::*;
    use axum_providers::database::{DatabaseError, DatabaseSettings};
    use axum_providers::deadpool_postgres::PooledTransaction;

    #[provider(scope = app)]
    fn settings() -> DatabaseSettings {
        DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres")
    }

    #[providers(
        settings,
        axum_providers::deadpool_postgres::pool,
        axum_providers::deadpool_postgres::transaction
    )]
    struct PoolProviders;

    #[handler(PoolProviders)]
    async fn insert_then_sleep(
        tx: DepMut<PooledTransaction>,
        Path((id, seconds)): Path<(i32, f64)>,
    ) -> Result<StatusCode, DatabaseError> {
        tx.execute("INSERT INTO items (id) VALUES ($1)", &[&id]).await?;
        tx.execute("SELECT pg_sleep($1)", &[&seconds]).await?;
        Ok(StatusCode::CREATED)
    }

    #[sqlx::test(migrations = false)]
    async fn a_slow_query_is_cut_at_the_deadline_and_its_transaction_rolled_back(
        _: PgPoolOptions,
        connect: PgConnectOptions,
    ) {
        let _turn = super::CUT_LOG.lock().await;
        let seed: PgPool = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
        sqlx::query("CREATE TABLE items (id INT PRIMARY KEY)").execute(&seed).await.expect("table");
        let database = connect.get_database().expect("a test database");
        let settings = DatabaseSettings::new(format!("postgres://postgres@127.0.0.1:5432/{database}"));
        let app = App::<PoolProviders>::builder()
            .override_value(settings)
            .request_deadline(Duration::from_millis(500))
            .build()
            .await
            .expect("app builds");
        let router =
            Router::new().route("/insert/{id}/{seconds}", get(insert_then_sleep)).with_providers(&app);

        let started = Instant::now();
        let answer = send(&router, "/insert/1/10").await;
        let waited = started.elapsed();
        assert_eq!(answer, (503, Some("1".to_owned()), cut_body(500)));
        assert!(waited < Duration::from_secs(5), "answered after {waited:?}; the statement takes 10 s");
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM items").fetch_one(&seed).await.expect("count");
        assert_eq!(rows, 0, "rolled back");

        assert_eq!(send(&router, "/insert/2/0.1").await.0, 201);
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM items").fetch_one(&seed).await.expect("count");
        assert_eq!(rows, 1);
        app.shutdown().await.expect("shutdown");
    }
}
