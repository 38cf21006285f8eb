//! The sqlx integration against a real PostgreSQL, each test in a fresh
//! database (`#[sqlx::test]`, from `DATABASE_URL`): rows exactly those of the
//! successful requests, a commit that breaks a constraint answered `409`, pool
//! exhaustion and a dead database answered `503` within the acquire timeout,
//! and recovery without a restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::sqlx::{DatabaseError, DatabaseSettings};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

/// The settings of the test: set per app with an override.
#[provider(scope = app)]
fn settings() -> DatabaseSettings {
    DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres")
}

/// The sqlx PostgreSQL bundle: pool, connection, transaction, lazy
/// transaction, on the settings above.
#[providers(settings, include(axum_providers::sqlx::postgres::PostgresProviders))]
struct DbProviders;

type Tx = DepMut<Transaction<'static, Postgres>>;

/// Inserts item `id`, then behaves as `mode` says.
#[handler(DbProviders)]
async fn insert(
    mut tx: Tx,
    Path((id, mode)): Path<(i32, String)>,
) -> Result<StatusCode, (StatusCode, String)> {
    if mode == "invalid" {
        return Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid".into()));
    }
    let label = if mode == "commit-fails" { "taken".to_owned() } else { format!("item {id}") };
    sqlx::query("INSERT INTO items (id, label) VALUES ($1, $2)")
        .bind(id)
        .bind(label)
        .execute(&mut **tx)
        .await
        .map_err(|error| (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    match mode.as_str() {
        "error" => Err((StatusCode::CONFLICT, "conflict after insert".into())),
        "panic" => panic!("handler panicked after insert"),
        _ => Ok(StatusCode::CREATED),
    }
}

/// Holds the transaction (and its connection) until told to stop.
#[handler(DbProviders)]
async fn hold(mut tx: Tx, release: axum::extract::Extension<Arc<Notify>>) -> StatusCode {
    let _ = sqlx::query("SELECT 1").execute(&mut **tx).await;
    release.notified().await;
    StatusCode::OK
}

/// `SELECT 1` in a transaction.
#[handler(DbProviders)]
async fn ping(mut tx: Tx) -> Result<String, DatabaseError> {
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut **tx).await?;
    Ok(one.to_string())
}

/// A query that fails in the database (division by zero, SQLSTATE 22012).
#[handler(DbProviders)]
async fn divide(mut tx: Tx) -> Result<String, DatabaseError> {
    let quotient: i32 = sqlx::query_scalar("SELECT 1 / 0").fetch_one(&mut **tx).await?;
    Ok(quotient.to_string())
}

/// Raises the error of SQLSTATE `code` (`40001`, `40P01`, ...) in the transaction.
#[handler(DbProviders)]
async fn raise(mut tx: Tx, Path(code): Path<String>) -> Result<String, DatabaseError> {
    let code: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
    let statement = format!("DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{code}'; END $$");
    sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut **tx).await?;
    Ok("raised nothing".to_owned())
}

/// Where a request tells the test its backend's pid, then waits to go on.
#[derive(Default)]
struct Backends {
    pids: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<i32>>>,
    sender: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<i32>>,
    resume: Notify,
}

impl Backends {
    fn new() -> Arc<Self> {
        let (sender, pids) = tokio::sync::mpsc::unbounded_channel();
        let backends = Self { pids: Mutex::new(Some(pids)), ..Self::default() };
        let _ = backends.sender.set(sender);
        Arc::new(backends)
    }

    /// The pid of the next request that reached its pause.
    async fn next_pid(&self) -> i32 {
        let mut pids = self.pids.lock().await;
        pids.as_mut().expect("receiver").recv().await.expect("a pid")
    }
}

/// Takes its transaction's backend, reports its pid, waits (idle in
/// transaction), then queries again.
#[handler(DbProviders)]
async fn victim(
    mut tx: Tx,
    backends: axum::extract::Extension<Arc<Backends>>,
) -> Result<String, DatabaseError> {
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut **tx).await?;
    let resumed = backends.resume.notified();
    let _ = backends.sender.get().expect("sender").send(pid);
    resumed.await;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut **tx).await?;
    Ok(one.to_string())
}

/// Inserts item `id`, then runs a statement of 5 s.
#[handler(DbProviders)]
async fn slow(mut tx: Tx, Path(id): Path<i32>) -> Result<StatusCode, DatabaseError> {
    sqlx::query("INSERT INTO items (id, label) VALUES ($1, 'slow')").bind(id).execute(&mut **tx).await?;
    sqlx::query("SELECT pg_sleep(5)").execute(&mut **tx).await?;
    Ok(StatusCode::CREATED)
}

/// Inserts `id`, commits it at once, inserts `id + 1000`, then answers as
/// `ok` says.
#[handler(DbProviders)]
async fn early(mut tx: Tx, Path((id, ok)): Path<(i32, bool)>) -> Result<StatusCode, DatabaseError> {
    use axum_providers::sqlx::CommitNow as _;
    sqlx::query("INSERT INTO items (id, label) VALUES ($1, 'early')").bind(id).execute(&mut **tx).await?;
    tx.commit_now().await?;
    sqlx::query("INSERT INTO items (id, label) VALUES ($1, 'late')")
        .bind(id + 1000)
        .execute(&mut **tx)
        .await?;
    Ok(if ok { StatusCode::CREATED } else { StatusCode::UNPROCESSABLE_ENTITY })
}

/// Validates `mode` first; then inserts `id` in a transaction begun on first
/// use, and answers as `mode` says.
#[handler(DbProviders)]
async fn lazy(
    mut tx: DepMut<axum_providers::sqlx::LazyTransaction<Postgres>>,
    Path((id, mode)): Path<(i32, String)>,
) -> Result<StatusCode, DatabaseError> {
    if mode == "invalid" {
        return Ok(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let db = tx.connection().await?;
    sqlx::query("INSERT INTO items (id, label) VALUES ($1, 'lazy')").bind(id).execute(&mut *db).await?;
    Ok(if mode == "ok" { StatusCode::CREATED } else { StatusCode::CONFLICT })
}

struct Server {
    backends: Arc<Backends>,
    address: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<Result<(), axum_providers::ServeError>>,
}

impl Server {
    async fn start(settings: DatabaseSettings, release: Arc<Notify>) -> Self {
        let backends = Backends::new();
        let app = App::<DbProviders>::builder()
            .override_value(settings)
            .build()
            .await
            .expect("app builds (is PostgreSQL running?)");
        let router: Router = Router::new()
            .route("/insert/{id}/{mode}", get(insert))
            .route("/hold", get(hold))
            .route("/ping", get(ping))
            .route("/divide", get(divide))
            .route("/raise/{code}", get(raise))
            .route("/victim", get(victim))
            .route("/slow/{id}", get(slow))
            .route("/early/{id}/{ok}", get(early))
            .route("/lazy/{id}/{mode}", get(lazy))
            .with_providers(&app)
            .layer(axum::Extension(release))
            .layer(axum::Extension(Arc::clone(&backends)));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, task) = axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
        Self { backends, address, stop, task }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.address)).await.expect("send");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("server task").expect("clean shutdown");
    }
}

fn settings_for(connect: &PgConnectOptions, port: u16) -> DatabaseSettings {
    let database = connect.get_database().expect("a test database");
    DatabaseSettings::new(format!("postgres://postgres@127.0.0.1:{port}/{database}"))
}

async fn create_items(pool: &PgPool) {
    sqlx::query(
        "CREATE TABLE items (id INT PRIMARY KEY, label TEXT NOT NULL, \
         CONSTRAINT label_unique UNIQUE (label) DEFERRABLE INITIALLY DEFERRED)",
    )
    .execute(pool)
    .await
    .expect("create table");
    // Inserting `taken` again succeeds, and fails at COMMIT.
    sqlx::query("INSERT INTO items (id, label) VALUES (0, 'taken')").execute(pool).await.expect("seed");
}

#[sqlx::test(migrations = false)]
async fn rows_are_exactly_those_of_the_successful_requests(_: PgPoolOptions, connect: PgConnectOptions) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    create_items(&seed).await;
    let server = Server::start(settings_for(&connect, 5432), Arc::new(Notify::new())).await;

    let modes = ["ok", "error", "invalid", "commit-fails", "panic"];
    let mut stored = Vec::new();
    for id in 1..=60 {
        let mode = modes[(id as usize * 7) % modes.len()];
        let (status, body) = server.get(&format!("/insert/{id}/{mode}")).await;
        let expected = match mode {
            "ok" => 201,
            "error" => 409,
            "invalid" => 422,
            // The commit that breaks the deferred unique constraint is
            // answered 409 (the transaction's `Respond`), never a success.
            "commit-fails" => 409,
            "panic" => 500,
            _ => unreachable!(),
        };
        assert_eq!(status, expected, "request {id} ({mode}): {body}");
        if status == 201 {
            stored.push(id);
        }
    }
    let rows: Vec<i32> = sqlx::query_scalar("SELECT id FROM items WHERE id > 0 ORDER BY id")
        .fetch_all(&seed)
        .await
        .expect("rows");
    assert_eq!(rows, stored);
    assert!(!stored.is_empty());
    server.stop().await;
}

#[sqlx::test(migrations = false)]
async fn an_exhausted_pool_answers_503_within_the_acquire_timeout(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let settings =
        settings_for(&connect, 5432).max_connections(1).acquire_timeout(Duration::from_millis(300));
    let release = Arc::new(Notify::new());
    let server = Server::start(settings, Arc::clone(&release)).await;

    let address = server.address.clone();
    let holder =
        tokio::spawn(async move { reqwest::get(format!("{address}/hold")).await.expect("send").status() });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let (status, body) = server.get("/ping").await;
    let waited = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body, "service unavailable: no database connection within 300 ms; try again shortly\n");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "answered after {waited:?}"
    );

    release.notify_one();
    assert_eq!(holder.await.expect("holder").as_u16(), 200);
    assert_eq!(server.get("/ping").await, (200, "1".to_owned()), "the connection is usable again");
    server.stop().await;
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("address").port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (flag, tasks) = (Arc::clone(&up), Arc::clone(&links));
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(client); // the database is "down": the connection is closed at once
                    continue;
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().await.push(link);
            }
        });
        Self { port, up, links, accept }
    }

    async fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[sqlx::test(migrations = false)]
async fn a_dead_database_answers_503_then_recovers_without_a_restart(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let proxy = Proxy::start().await;
    let settings =
        settings_for(&connect, proxy.port).max_connections(2).acquire_timeout(Duration::from_millis(500));
    let server = Server::start(settings, Arc::new(Notify::new())).await;
    assert_eq!(server.get("/ping").await, (200, "1".to_owned()));

    proxy.cut().await;
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) =
            tokio::time::timeout(Duration::from_secs(5), server.get("/ping")).await.expect("no hang");
        let waited = started.elapsed();
        assert_eq!(status, 503, "{body}");
        assert!(body.starts_with("service unavailable"), "{body}");
        assert!(waited < Duration::from_secs(2), "answered after {waited:?}, acquire timeout is 500 ms");
    }

    proxy.restore();
    let started = Instant::now();
    loop {
        let (status, body) = server.get("/ping").await;
        if status == 200 {
            assert_eq!(body, "1");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no recovery: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// A `500` of the handler's `DatabaseError` tells the client nothing and the
/// logs everything, at error level.
#[sqlx::test(migrations = false)]
async fn a_database_500_keeps_its_body_generic_and_logs_the_cause(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let captured = axum_providers_tests::Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::start(settings_for(&connect, 5432), Arc::new(Notify::new())).await;
    let (status, body) = server.get("/divide").await;
    assert_eq!((status, body.as_str()), (500, "internal server error"));
    let logs = captured.text();
    let line = logs
        .lines()
        .find(|line| line.contains("division by zero"))
        .unwrap_or_else(|| panic!("the cause is not logged: {logs}"));
    assert!(line.contains("ERROR") && line.contains("status=500"), "{line}");
    server.stop().await;
}

/// A port where nothing listens: connecting to it is refused.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address").port()
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints when the database
/// refuses at startup: one line naming the provider and the cause, without
/// the password.
#[tokio::test]
async fn a_failed_start_prints_one_line_with_the_provider_and_the_cause() {
    let url = format!("postgres://postgres:S3cret@127.0.0.1:{}/postgres", closed_port().await);
    let settings = DatabaseSettings::new(url).acquire_timeout(Duration::from_millis(300));
    let error = App::<DbProviders>::builder().override_value(settings).build().await.expect_err("no start");
    let error: Box<dyn std::error::Error> = Box::new(error);
    let printed = format!("Error: {error:?}");
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(
        printed.starts_with("Error: app startup failed: provider `sqlx::postgres::pool` failed: "),
        "{printed}"
    );
    assert!(printed.to_lowercase().contains("connection refused"), "{printed}");
    assert!(!printed.contains("S3cret"), "{printed}");
}

/// A backend killed while its request's transaction is idle: the request
/// answers `503` with `Retry-After`, and the next one gets a new connection.
#[sqlx::test(migrations = false)]
async fn a_connection_lost_in_the_middle_of_a_request_answers_503(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    let server =
        Server::start(settings_for(&connect, 5432).max_connections(2), Arc::new(Notify::new())).await;
    let address = server.address.clone();
    let request = tokio::spawn(async move { reqwest::get(format!("{address}/victim")).await.expect("send") });
    let pid = server.backends.next_pid().await;
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(&seed)
        .await
        .expect("terminate");
    assert!(terminated);
    server.backends.resume.notify_one();

    let response = request.await.expect("request");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.text().await.expect("body"),
        "service unavailable: the database cannot be reached; try again shortly\n"
    );
    assert_eq!(server.get("/ping").await, (200, "1".to_owned()), "a new connection serves the next request");
    server.stop().await;
}

/// The failure classes by SQLSTATE: a lost or refused session `503`, a
/// serialization failure or deadlock `409` with `Retry-After`.
#[sqlx::test(migrations = false)]
async fn failure_classes_by_sqlstate(_: PgPoolOptions, connect: PgConnectOptions) {
    let server = Server::start(settings_for(&connect, 5432), Arc::new(Notify::new())).await;
    let contention = "conflict: a concurrent request changed the same data; try again\n";
    let unavailable = "service unavailable: the database cannot be reached; try again shortly\n";
    for (code, status, retry_after, body) in [
        ("40001", 409, true, contention),
        ("40P01", 409, true, contention),
        ("57P01", 503, true, unavailable),
        ("57P03", 503, true, unavailable),
        ("08006", 503, true, unavailable),
        ("23505", 409, false, "conflict: the request conflicts with data stored already\n"),
        ("22012", 500, false, "internal server error"),
    ] {
        let response = reqwest::get(format!("{}/raise/{code}", server.address)).await.expect("send");
        assert_eq!(response.status().as_u16(), status, "{code}");
        assert_eq!(response.headers().contains_key("retry-after"), retry_after, "{code}");
        assert_eq!(response.text().await.expect("body"), body, "{code}");
    }
    server.stop().await;
}

/// A statement beyond the statement timeout is cancelled by the database:
/// `503` with `Retry-After`, and the transaction's insert is rolled back.
#[sqlx::test(migrations = false)]
async fn a_statement_beyond_the_statement_timeout_answers_503_and_rolls_back(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    create_items(&seed).await;
    let settings = settings_for(&connect, 5432).statement_timeout(Duration::from_millis(200));
    let server = Server::start(settings, Arc::new(Notify::new())).await;

    let started = Instant::now();
    let response = reqwest::get(format!("{}/slow/1", server.address)).await.expect("send");
    let waited = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.text().await.expect("body"),
        "service unavailable: the database did not answer in time; try again shortly\n"
    );
    assert!(waited < Duration::from_secs(4), "answered after {waited:?}, the statement takes 5 s");
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM items WHERE id = 1").fetch_one(&seed).await.expect("rows");
    assert_eq!(rows, 0, "rolled back");
    assert_eq!(server.get("/ping").await, (200, "1".to_owned()));
    server.stop().await;
}

/// `commit_now` stores what came before it whatever the response; what came
/// after it is decided by the response.
#[sqlx::test(migrations = false)]
async fn commit_now_keeps_its_part_whatever_the_response(_: PgPoolOptions, connect: PgConnectOptions) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    sqlx::query("CREATE TABLE items (id INT PRIMARY KEY, label TEXT NOT NULL)")
        .execute(&seed)
        .await
        .expect("create table");
    let server =
        Server::start(settings_for(&connect, 5432).max_connections(1), Arc::new(Notify::new())).await;
    assert_eq!(server.get("/early/1/true").await.0, 201);
    assert_eq!(server.get("/early/2/false").await.0, 422);
    let rows: Vec<i32> =
        sqlx::query_scalar("SELECT id FROM items ORDER BY id").fetch_all(&seed).await.expect("rows");
    assert_eq!(rows, [1, 2, 1001], "2 was committed early; 1002 rolled back with the 422");
    server.stop().await;
}

/// A lazy transaction takes no connection until it is used: a request
/// answered before is served while the pool is exhausted; one that uses it
/// commits on success and rolls back otherwise.
#[sqlx::test(migrations = false)]
async fn a_lazy_transaction_takes_a_connection_only_when_used(_: PgPoolOptions, connect: PgConnectOptions) {
    let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
    sqlx::query("CREATE TABLE items (id INT PRIMARY KEY, label TEXT NOT NULL)")
        .execute(&seed)
        .await
        .expect("create table");
    let settings =
        settings_for(&connect, 5432).max_connections(1).acquire_timeout(Duration::from_millis(300));
    let server = Server::start(settings, Arc::new(Notify::new())).await;

    // `/victim` holds the pool's only connection until resumed.
    let address = server.address.clone();
    let holder = tokio::spawn(async move { reqwest::get(format!("{address}/victim")).await.expect("send") });
    let _pid = server.backends.next_pid().await;
    assert_eq!(server.get("/lazy/1/invalid").await.0, 422, "answered without a connection");
    assert_eq!(server.get("/lazy/2/ok").await.0, 503, "the pool is exhausted indeed");
    server.backends.resume.notify_one();
    assert_eq!(holder.await.expect("holder").status(), 200);

    assert_eq!(server.get("/lazy/3/ok").await.0, 201);
    assert_eq!(server.get("/lazy/4/error").await.0, 409);
    let rows: Vec<i32> =
        sqlx::query_scalar("SELECT id FROM items ORDER BY id").fetch_all(&seed).await.expect("rows");
    assert_eq!(rows, [3], "committed on success only");
    server.stop().await;
}

mod two_databases {
    //! SQLite (the ready-made providers, from `DatabaseSettings`) and a
    //! PostgreSQL archive (providers of the app's own, from its own settings,
    //! built with `postgres::connect` and `LazyTransaction`) in one handler.

    use axum::Router;
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum_providers::prelude::*;
    use axum_providers::sqlx::{DatabaseError, DatabaseSettings, LazyTransaction};
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
    use tokio::net::TcpListener;

    #[provider(scope = app)]
    fn settings() -> DatabaseSettings {
        DatabaseSettings::new("sqlite::memory:")
    }

    /// The archive's own settings.
    #[derive(Clone)]
    struct ArchiveSettings(DatabaseSettings);

    #[provider(scope = app)]
    fn archive_settings() -> ArchiveSettings {
        ArchiveSettings(DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres"))
    }

    struct Archive(PgPool);

    #[provider(scope = app)]
    async fn archive(settings: Dep<ArchiveSettings>) -> Result<Teardown<Archive>, DatabaseError> {
        let pool = axum_providers::sqlx::postgres::connect(&settings.0).await?;
        Ok(Teardown::new(Archive(pool), |archive: Archive, _| async move { archive.0.close().await }))
    }

    struct ArchiveTx(LazyTransaction<Postgres>);

    #[provider(exclusive)]
    fn archive_tx(archive: Dep<Archive>) -> Teardown<ArchiveTx> {
        Teardown::new(ArchiveTx(LazyTransaction::new(archive.0.clone())), |tx: ArchiveTx, outcome| {
            tx.0.finish(outcome)
        })
    }

    #[providers(
        settings,
        axum_providers::sqlx::sqlite::pool,
        axum_providers::sqlx::sqlite::transaction,
        archive_settings,
        archive,
        archive_tx
    )]
    struct TwoDatabases;

    /// Stores `id` in both databases, then answers as `ok` says.
    #[handler(TwoDatabases)]
    async fn store(
        Path((id, ok)): Path<(i64, bool)>,
        mut notes: DepMut<Transaction<'static, Sqlite>>,
        mut archive: DepMut<ArchiveTx>,
    ) -> Result<StatusCode, DatabaseError> {
        sqlx::query("INSERT INTO notes (id) VALUES ($1)").bind(id).execute(&mut **notes).await?;
        let db = archive.0.connection().await?;
        sqlx::query("INSERT INTO archive (id) VALUES ($1)").bind(id).execute(&mut *db).await?;
        Ok(if ok { StatusCode::CREATED } else { StatusCode::UNPROCESSABLE_ENTITY })
    }

    #[sqlx::test(migrations = false)]
    async fn two_databases_with_their_own_settings_in_one_handler(
        _: PgPoolOptions,
        connect: PgConnectOptions,
    ) {
        let seed = PgPoolOptions::new().connect_with(connect.clone()).await.expect("connect");
        sqlx::query("CREATE TABLE archive (id BIGINT PRIMARY KEY)").execute(&seed).await.expect("create");
        let url = format!("postgres://postgres@127.0.0.1:5432/{}", connect.get_database().expect("database"));
        let app = App::<TwoDatabases>::builder()
            .override_value(ArchiveSettings(DatabaseSettings::new(url)))
            .override_value(DatabaseSettings::new("sqlite::memory:").max_connections(1))
            .build()
            .await
            .expect("both pools start");
        let notes = app.get::<SqlitePool>().await.expect("pool").clone();
        sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY)").execute(&notes).await.expect("create");
        let router: Router = Router::new().route("/store/{id}/{ok}", get(store)).with_providers(&app);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, task) = axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));

        for (id, ok, status) in [(1, true, 201), (2, false, 422), (3, true, 201)] {
            let response = reqwest::get(format!("{address}/store/{id}/{ok}")).await.expect("send");
            assert_eq!(response.status().as_u16(), status, "{id}");
        }
        let in_notes: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM notes ORDER BY id").fetch_all(&notes).await.expect("rows");
        let in_archive: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM archive ORDER BY id").fetch_all(&seed).await.expect("rows");
        assert_eq!((in_notes, in_archive), (vec![1, 3], vec![1, 3]));

        drop(notes);
        let _ = stop.send(());
        task.await.expect("server task").expect("clean shutdown");
    }
}
