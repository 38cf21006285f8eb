//! The testing guide's database test (`guide/testing.md`), run against
//! PostgreSQL, and its claim that app-scoped providers start eagerly: a test
//! that builds the app without overriding the pool connects to the
//! configured database.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::{Router, routing::post};
use axum_providers::prelude::*;
use axum_providers::sqlx::{DatabaseError, DatabaseSettings};
use sqlx::{PgPool, Postgres, Transaction};
use tower::ServiceExt as _;

struct Config {
    database_url: String,
}

/// Nothing listens on port 1: a connection to it is refused at once.
const UNREACHABLE: &str = "postgres://app@127.0.0.1:1/production";

#[provider(scope = app)]
fn config() -> Config {
    Config { database_url: UNREACHABLE.into() }
}

#[provider(scope = app)]
fn database(config: Dep<Config>) -> DatabaseSettings {
    // (The guide leaves the default; a shorter wait keeps the failing build quick.)
    DatabaseSettings::new(&config.database_url).acquire_timeout(std::time::Duration::from_millis(500))
}

#[providers(
    config,
    database,
    axum_providers::sqlx::postgres::pool,
    axum_providers::sqlx::postgres::transaction
)]
struct AppProviders;

#[handler(AppProviders)]
async fn create(mut tx: DepMut<Transaction<'static, Postgres>>) -> Result<StatusCode, DatabaseError> {
    sqlx::query("INSERT INTO notes (title) VALUES ('hello')").execute(&mut **tx).await?;
    Ok(StatusCode::CREATED)
}

fn router(app: &App<AppProviders>) -> Router {
    Router::new().route("/notes", post(create)).with_providers(app)
}

#[sqlx::test(migrations = false)]
async fn a_created_note_is_committed(pool: PgPool) -> Result<(), Box<dyn std::error::Error>> {
    sqlx::query("CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL)").execute(&pool).await?;
    let app = App::<AppProviders>::builder().override_value(pool.clone()).build().await?;

    let response = router(&app).oneshot(Request::post("/notes").body(Body::empty())?).await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM notes").fetch_one(&pool).await?;
    assert_eq!(notes, 1);
    app.shutdown().await?;
    assert!(!pool.is_closed(), "an overridden value has no teardown: the test's pool stays open");
    Ok(())
}

#[tokio::test]
async fn without_the_override_build_connects_to_the_configured_database() {
    let error =
        App::<AppProviders>::builder().build().await.expect_err("the configured database is unreachable");
    assert_eq!(error.provider(), "sqlx::postgres::pool", "{error}");
}

#[sqlx::test(migrations = false)]
async fn with_the_override_build_does_not_connect_to_it(pool: PgPool) {
    let app =
        App::<AppProviders>::builder().override_value(pool).build().await.expect("builds on the test pool");
    app.shutdown().await.expect("clean shutdown");
}
