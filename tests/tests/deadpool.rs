//! The deadpool-postgres integration against a real PostgreSQL, in a fresh
//! database: `BEGIN`/`COMMIT`/`ROLLBACK` on an owned pooled client, rows
//! exactly those of the successful requests, a commit that breaks a constraint answered `409`,
//! an exhausted pool answered `503` within the wait timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::routing::get;
use axum_providers::database::{DatabaseError, DatabaseSettings};
use axum_providers::deadpool_postgres::{Pool, PooledTransaction};
use axum_providers::prelude::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[provider(scope = app)]
fn settings() -> DatabaseSettings {
    DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres")
}

/// The deadpool-postgres bundle: pool, client, transaction.
#[providers(settings, include(axum_providers::deadpool_postgres::DeadpoolProviders))]
struct PoolProviders;

#[handler(PoolProviders)]
async fn insert(
    tx: DepMut<PooledTransaction>,
    Path((id, mode)): Path<(i32, String)>,
) -> Result<StatusCode, (StatusCode, String)> {
    let label = if mode == "commit-fails" { "taken".to_owned() } else { format!("item {id}") };
    tx.execute("INSERT INTO items (id, label) VALUES ($1, $2)", &[&id, &label])
        .await
        .map_err(|error| (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    match mode.as_str() {
        "error" => Err((StatusCode::CONFLICT, "conflict after insert".into())),
        "panic" => panic!("handler panicked after insert"),
        _ => Ok(StatusCode::CREATED),
    }
}

#[handler(PoolProviders)]
async fn hold(
    client: DepMut<axum_providers::deadpool_postgres::Client>,
    release: Extension<Arc<Notify>>,
) -> StatusCode {
    let _ = client.simple_query("SELECT 1").await;
    release.notified().await;
    StatusCode::OK
}

#[handler(PoolProviders)]
async fn ping(client: DepMut<axum_providers::deadpool_postgres::Client>) -> Result<String, DatabaseError> {
    let row = client.query_one("SELECT 1::int4", &[]).await?;
    Ok(row.get::<_, i32>(0).to_string())
}

/// Raises the error of SQLSTATE `code` in the transaction.
#[handler(PoolProviders)]
async fn raise(tx: DepMut<PooledTransaction>, Path(code): Path<String>) -> Result<String, DatabaseError> {
    let code: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
    tx.batch_execute(&format!("DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{code}'; END $$"))
        .await?;
    Ok("raised nothing".to_owned())
}

/// Inserts item `id`, then runs a statement of 5 s.
#[handler(PoolProviders)]
async fn slow(tx: DepMut<PooledTransaction>, Path(id): Path<i32>) -> Result<StatusCode, DatabaseError> {
    tx.execute("INSERT INTO items (id, label) VALUES ($1, 'slow')", &[&id]).await?;
    tx.batch_execute("SELECT pg_sleep(5)").await?;
    Ok(StatusCode::CREATED)
}

/// Inserts `id`, commits it at once, inserts `id + 1000`, then answers as
/// `ok` says.
#[handler(PoolProviders)]
async fn early(
    mut tx: DepMut<PooledTransaction>,
    Path((id, ok)): Path<(i32, bool)>,
) -> Result<StatusCode, DatabaseError> {
    tx.execute("INSERT INTO items (id, label) VALUES ($1, 'early')", &[&id]).await?;
    tx.commit_now().await?;
    tx.execute("INSERT INTO items (id, label) VALUES ($1, 'late')", &[&(id + 1000)]).await?;
    Ok(if ok { StatusCode::CREATED } else { StatusCode::UNPROCESSABLE_ENTITY })
}

/// Where a request tells the test its backend's pid, then waits to go on.
struct Backends {
    pids: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<i32>>,
    sender: tokio::sync::mpsc::UnboundedSender<i32>,
    resume: Notify,
}

/// Reports its transaction's backend pid, waits (idle in transaction), then
/// queries again.
#[handler(PoolProviders)]
async fn victim(
    tx: DepMut<PooledTransaction>,
    backends: Extension<Arc<Backends>>,
) -> Result<String, DatabaseError> {
    let pid: i32 = tx.query_one("SELECT pg_backend_pid()", &[]).await?.get(0);
    let resumed = backends.resume.notified();
    let _ = backends.sender.send(pid);
    resumed.await;
    let row = tx.query_one("SELECT 1::int4", &[]).await?;
    Ok(row.get::<_, i32>(0).to_string())
}

async fn start(
    settings: DatabaseSettings,
    release: Arc<Notify>,
    backends: Arc<Backends>,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), axum_providers::ServeError>>,
    Pool,
) {
    let app = App::<PoolProviders>::builder().override_value(settings).build().await.expect("app builds");
    let pool = app.get::<Pool>().await.expect("pool").clone();
    let router: Router = Router::new()
        .route("/insert/{id}/{mode}", get(insert))
        .route("/hold", get(hold))
        .route("/ping", get(ping))
        .route("/raise/{code}", get(raise))
        .route("/victim", get(victim))
        .route("/slow/{id}", get(slow))
        .route("/early/{id}/{ok}", get(early))
        .with_providers(&app)
        .layer(Extension(release))
        .layer(Extension(backends));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, task) = axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
    (address, stop, task, pool)
}

fn backends() -> Arc<Backends> {
    let (sender, pids) = tokio::sync::mpsc::unbounded_channel();
    Arc::new(Backends { pids: tokio::sync::Mutex::new(pids), sender, resume: Notify::new() })
}

fn url_of(connect: &PgConnectOptions) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{}", connect.get_database().expect("a test database"))
}

#[sqlx::test(migrations = false)]
async fn transactions_on_pooled_clients_keep_only_successful_rows(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    sqlx::query(
        "CREATE TABLE items (id INT PRIMARY KEY, label TEXT NOT NULL, \
         CONSTRAINT label_unique UNIQUE (label) DEFERRABLE INITIALLY DEFERRED)",
    )
    .execute(&seed)
    .await
    .expect("create table");
    sqlx::query("INSERT INTO items (id, label) VALUES (0, 'taken')").execute(&seed).await.expect("seed");
    let (address, stop, task, pool) = start(
        DatabaseSettings::new(url_of(&connect)).max_connections(3),
        Arc::new(Notify::new()),
        backends(),
    )
    .await;

    let modes = ["ok", "error", "commit-fails", "panic", "ok"];
    let mut stored = Vec::new();
    for id in 1..=40 {
        let mode = modes[(id as usize * 3) % modes.len()];
        let response = reqwest::get(format!("{address}/insert/{id}/{mode}")).await.expect("send");
        let expected = match mode {
            "ok" => 201,
            "error" => 409,
            "commit-fails" => 409,
            "panic" => 500,
            _ => unreachable!(),
        };
        assert_eq!(response.status().as_u16(), expected, "request {id} ({mode})");
        if expected == 201 {
            stored.push(id);
        }
    }
    let rows: Vec<i32> = sqlx::query_scalar("SELECT id FROM items WHERE id > 0 ORDER BY id")
        .fetch_all(&seed)
        .await
        .expect("rows");
    assert_eq!(rows, stored);
    let status = pool.status();
    assert!(status.size <= 3, "{status:?}");
    assert_eq!(status.available, status.size, "every client is back in the pool: {status:?}");

    drop(pool);
    let _ = stop.send(());
    task.await.expect("server task").expect("clean shutdown");
}

#[sqlx::test(migrations = false)]
async fn an_exhausted_deadpool_answers_503_within_the_wait_timeout(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let settings = DatabaseSettings::new(url_of(&connect))
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(300));
    let release = Arc::new(Notify::new());
    let (address, stop, task, pool) = start(settings, Arc::clone(&release), backends()).await;

    let holder_address = address.clone();
    let holder =
        tokio::spawn(
            async move { reqwest::get(format!("{holder_address}/hold")).await.expect("send").status() },
        );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = reqwest::get(format!("{address}/ping")).await.expect("send");
    let waited = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response.text().await.expect("body"),
        "service unavailable: no database connection within 300 ms; try again shortly\n"
    );
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");

    release.notify_one();
    assert_eq!(holder.await.expect("holder").as_u16(), 200);
    let response = reqwest::get(format!("{address}/ping")).await.expect("send");
    assert_eq!(response.text().await.expect("body"), "1");

    drop(pool);
    let _ = stop.send(());
    task.await.expect("server task").expect("clean shutdown");
}

/// The same start failure with deadpool: one line, the provider, the cause.
#[tokio::test]
async fn a_failed_start_prints_one_line_with_the_provider_and_the_cause() {
    let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("address").port();
    let settings = DatabaseSettings::new(format!("postgres://postgres:S3cret@127.0.0.1:{port}/postgres"))
        .acquire_timeout(Duration::from_millis(300));
    let error = App::<PoolProviders>::builder().override_value(settings).build().await.expect_err("no start");
    let error: Box<dyn std::error::Error> = Box::new(error);
    let printed = format!("Error: {error:?}");
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(
        printed.starts_with("Error: app startup failed: provider `deadpool_postgres::pool` failed: "),
        "{printed}"
    );
    assert!(printed.to_lowercase().contains("connection refused"), "{printed}");
    assert!(!printed.contains("S3cret"), "{printed}");
}

/// A backend killed while its request's transaction is idle: `503` with
/// `Retry-After`, and the next request gets a new client.
#[sqlx::test(migrations = false)]
async fn a_client_lost_in_the_middle_of_a_request_answers_503(_: PgPoolOptions, connect: PgConnectOptions) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    let backends = backends();
    let settings = DatabaseSettings::new(url_of(&connect)).max_connections(2);
    let (address, stop, task, pool) = start(settings, Arc::new(Notify::new()), Arc::clone(&backends)).await;
    let victim_address = address.clone();
    let request =
        tokio::spawn(async move { reqwest::get(format!("{victim_address}/victim")).await.expect("send") });
    let pid = backends.pids.lock().await.recv().await.expect("a pid");
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(&seed)
        .await
        .expect("terminate");
    assert!(terminated);
    backends.resume.notify_one();

    let response = request.await.expect("request");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.text().await.expect("body"),
        "service unavailable: the database cannot be reached; try again shortly\n"
    );
    let response = reqwest::get(format!("{address}/ping")).await.expect("send");
    assert_eq!(response.text().await.expect("body"), "1", "a new client serves the next request");

    drop(pool);
    let _ = stop.send(());
    task.await.expect("server task").expect("clean shutdown");
}

/// The same classes by SQLSTATE as with sqlx.
#[sqlx::test(migrations = false)]
async fn failure_classes_by_sqlstate(_: PgPoolOptions, connect: PgConnectOptions) {
    let (address, stop, task, pool) =
        start(DatabaseSettings::new(url_of(&connect)), Arc::new(Notify::new()), backends()).await;
    let contention = "conflict: a concurrent request changed the same data; try again\n";
    let unavailable = "service unavailable: the database cannot be reached; try again shortly\n";
    for (code, status, retry_after, body) in [
        ("40001", 409, true, contention),
        ("40P01", 409, true, contention),
        ("57P01", 503, true, unavailable),
        ("08006", 503, true, unavailable),
        ("23505", 409, false, "conflict: the request conflicts with data stored already\n"),
        ("22012", 500, false, "internal server error"),
    ] {
        let response = reqwest::get(format!("{address}/raise/{code}")).await.expect("send");
        assert_eq!(response.status().as_u16(), status, "{code}");
        assert_eq!(response.headers().contains_key("retry-after"), retry_after, "{code}");
        assert_eq!(response.text().await.expect("body"), body, "{code}");
    }
    drop(pool);
    let _ = stop.send(());
    task.await.expect("server task").expect("clean shutdown");
}

/// The statement timeout with deadpool: `503`, rolled back.
#[sqlx::test(migrations = false)]
async fn a_statement_beyond_the_statement_timeout_answers_503_and_rolls_back(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    sqlx::query("CREATE TABLE items (id INT PRIMARY KEY, label TEXT NOT NULL)")
        .execute(&seed)
        .await
        .expect("create table");
    let settings = DatabaseSettings::new(url_of(&connect)).statement_timeout(Duration::from_millis(200));
    let (address, stop, task, pool) = start(settings, Arc::new(Notify::new()), backends()).await;

    let started = Instant::now();
    let response = reqwest::get(format!("{address}/slow/1")).await.expect("send");
    let waited = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.text().await.expect("body"),
        "service unavailable: the database did not answer in time; try again shortly\n"
    );
    assert!(waited < Duration::from_secs(4), "answered after {waited:?}, the statement takes 5 s");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM items").fetch_one(&seed).await.expect("rows");
    assert_eq!(rows, 0, "rolled back");

    drop(pool);
    let _ = stop.send(());
    task.await.expect("server task").expect("clean shutdown");
}

/// `commit_now` with deadpool: its part stays, the rest follows the response.
#[sqlx::test(migrations = false)]
async fn commit_now_keeps_its_part_whatever_the_response(_: PgPoolOptions, connect: PgConnectOptions) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    sqlx::query("CREATE TABLE items (id INT PRIMARY KEY, label TEXT NOT NULL)")
        .execute(&seed)
        .await
        .expect("create table");
    let settings = DatabaseSettings::new(url_of(&connect)).max_connections(1);
    let (address, stop, task, pool) = start(settings, Arc::new(Notify::new()), backends()).await;
    for (path, status) in [("/early/1/true", 201), ("/early/2/false", 422)] {
        let response = reqwest::get(format!("{address}{path}")).await.expect("send");
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    let rows: Vec<i32> =
        sqlx::query_scalar("SELECT id FROM items ORDER BY id").fetch_all(&seed).await.expect("rows");
    assert_eq!(rows, [1, 2, 1001], "2 was committed early; 1002 rolled back with the 422");

    drop(pool);
    let _ = stop.send(());
    task.await.expect("server task").expect("clean shutdown");
}
