//! The sqlx SQLite providers on an embedded database file: the transaction
//! commits for successful requests and rolls back for the others.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::sqlx::DatabaseSettings;
use sqlx::{Sqlite, SqlitePool, Transaction};
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
