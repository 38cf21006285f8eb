//! The sqlx SQLite providers on an embedded database file: the transaction
//! commits for successful requests and rolls back for the others.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::sqlx::{DatabaseError, DatabaseSettings};
use http_body_util::BodyExt as _;
use sqlx::{Connection as _, Sqlite, SqliteConnection, SqlitePool, Transaction};
use tower::ServiceExt as _;

#[provider(scope = app)]
fn settings() -> DatabaseSettings {
    DatabaseSettings::new("sqlite::memory:")
}

#[providers(settings, axum_providers::sqlx::sqlite::pool, axum_providers::sqlx::sqlite::transaction)]
struct SqliteProviders;

#[handler(SqliteProviders)]
async fn insert(
    mut tx: DepMut<Transaction<'static, Sqlite>>,
    Path((id, ok)): Path<(i64, bool)>,
) -> Result<StatusCode, StatusCode> {
    sqlx::query("INSERT INTO items (id) VALUES ($1)")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    if ok { Ok(StatusCode::CREATED) } else { Err(StatusCode::BAD_REQUEST) }
}

/// Inserts item `id`; a database failure is the response.
#[handler(SqliteProviders)]
async fn store(
    mut tx: DepMut<Transaction<'static, Sqlite>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, DatabaseError> {
    sqlx::query("INSERT INTO items (id) VALUES ($1)").bind(id).execute(&mut **tx).await?;
    Ok(StatusCode::CREATED)
}

/// Inserts `id`, commits it at once, inserts `id + 1000`, then fails.
#[handler(SqliteProviders)]
async fn early(
    mut tx: DepMut<Transaction<'static, Sqlite>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, DatabaseError> {
    use axum_providers::sqlx::CommitNow as _;
    sqlx::query("INSERT INTO items (id) VALUES ($1)").bind(id).execute(&mut **tx).await?;
    tx.commit_now().await?;
    sqlx::query("INSERT INTO items (id) VALUES ($1)").bind(id + 1000).execute(&mut **tx).await?;
    Ok(StatusCode::UNPROCESSABLE_ENTITY)
}

#[tokio::test]
async fn sqlite_transactions_commit_successful_requests_only() {
    let directory = std::env::temp_dir().join(format!("providers-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", directory.join("items.db").display());
    let app = App::<SqliteProviders>::builder()
        .override_value(DatabaseSettings::new(&url).max_connections(2))
        .build()
        .await
        .expect("app builds");
    let pool = app.get::<SqlitePool>().await.expect("pool").clone();
    sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY)").execute(&pool).await.expect("create");
    let router: Router = Router::new().route("/insert/{id}/{ok}", get(insert)).with_providers(&app);

    for (id, ok) in [(1, true), (2, false), (3, true), (4, false)] {
        let request = Request::get(format!("/insert/{id}/{ok}")).body(Body::empty()).expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status().is_success(), ok, "request {id}");
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM items ORDER BY id").fetch_all(&pool).await.expect("rows");
    assert_eq!(ids, [1, 3]);

    drop((router, pool));
    app.shutdown().await.expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&directory);
}

/// A file locked by another connection is waited for as long as the acquire
/// timeout, then answered `503` with `Retry-After`; once the lock is gone,
/// requests succeed again.
#[tokio::test]
async fn a_locked_database_file_answers_503_within_the_acquire_timeout() {
    let directory = std::env::temp_dir().join(format!("providers-sqlite-locked-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", directory.join("items.db").display());
    let settings = DatabaseSettings::new(&url).acquire_timeout(Duration::from_millis(300));
    let app = App::<SqliteProviders>::builder().override_value(settings).build().await.expect("app builds");
    let pool = app.get::<SqlitePool>().await.expect("pool").clone();
    sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY)").execute(&pool).await.expect("create");
    let router: Router = Router::new().route("/store/{id}", get(store)).with_providers(&app);
    let call = |id: i64| {
        let request = Request::get(format!("/store/{id}")).body(Body::empty()).expect("request");
        router.clone().oneshot(request)
    };

    // Another connection (another process, as far as SQLite knows) holds the write lock.
    let mut other = SqliteConnection::connect(&url).await.expect("connect");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.expect("lock");
    sqlx::query("INSERT INTO items (id) VALUES (100)").execute(&mut other).await.expect("write");

    let started = Instant::now();
    let response = call(1).await.expect("infallible");
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(body, "service unavailable: the database did not answer in time; try again shortly\n");
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}; the acquire timeout is 300 ms");

    sqlx::query("ROLLBACK").execute(&mut other).await.expect("unlock");
    other.close().await.expect("close");
    assert_eq!(call(2).await.expect("infallible").status(), StatusCode::CREATED);
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM items ORDER BY id").fetch_all(&pool).await.expect("rows");
    assert_eq!(ids, [2]);

    drop((router, pool));
    app.shutdown().await.expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&directory);
}

/// `commit_now` on SQLite: what came before it stays after a `422`.
#[tokio::test]
async fn commit_now_keeps_its_part_after_an_error_response() {
    let app = App::<SqliteProviders>::builder()
        .override_value(DatabaseSettings::new("sqlite::memory:").max_connections(1))
        .build()
        .await
        .expect("app builds");
    let pool = app.get::<SqlitePool>().await.expect("pool").clone();
    sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY)").execute(&pool).await.expect("create");
    let router: Router = Router::new().route("/early/{id}", get(early)).with_providers(&app);
    let request = Request::get("/early/7").body(Body::empty()).expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM items").fetch_all(&pool).await.expect("rows");
    assert_eq!(ids, [7]);
    drop((router, pool));
    app.shutdown().await.expect("clean shutdown");
}
