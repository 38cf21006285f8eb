//! Concurrent setup against a real PostgreSQL (`DATABASE_URL`): two lookups
//! that each wait in the database, and the request's transaction (whose
//! provider reads the request's deadline), are set up side by side.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::sqlx::{DatabaseError, DatabaseSettings};
use sqlx::{PgPool, Postgres, Transaction};
use tower::ServiceExt as _;

const WAIT_SECONDS: f64 = 0.3;

#[provider(scope = app)]
fn settings() -> DatabaseSettings {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    DatabaseSettings::new(url).max_connections(4)
}

/// When a lookup ran.
#[derive(Debug, Clone, Copy)]
struct Ran {
    started: Instant,
    finished: Instant,
}

impl Ran {
    fn overlaps(self, other: Self) -> bool {
        self.started < other.finished && other.started < self.finished
    }
}

async fn lookup(pool: &PgPool) -> Result<Ran, DatabaseError> {
    let started = Instant::now();
    sqlx::query("SELECT pg_sleep($1)").bind(WAIT_SECONDS).execute(pool).await?;
    Ok(Ran { started, finished: Instant::now() })
}

/// A user looked up in the database.
pub struct Profile(Ran);
/// Feature flags looked up in the database.
pub struct Flags(Ran);

#[provider]
async fn profile(pool: Dep<PgPool>) -> Result<Profile, DatabaseError> {
    lookup(&pool).await.map(Profile)
}

#[provider]
async fn flags(pool: Dep<PgPool>) -> Result<Flags, DatabaseError> {
    lookup(&pool).await.map(Flags)
}

#[providers(
    settings,
    axum_providers::sqlx::postgres::pool,
    axum_providers::sqlx::postgres::transaction,
    profile,
    flags
)]
struct AppProviders;

/// `SELECT 1` in the transaction, and whether the two lookups overlapped.
async fn answer(
    profile: &Profile,
    flags: &Flags,
    tx: &mut Transaction<'static, Postgres>,
) -> Result<String, DatabaseError> {
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut **tx).await?;
    let overlap = profile.0.overlaps(flags.0);
    Ok(format!("{one} {overlap}"))
}

/// Under `#[handler]`: the three are set up together.
#[handler(AppProviders)]
async fn page(
    profile: Dep<Profile>,
    flags: Dep<Flags>,
    mut tx: DepMut<Transaction<'static, Postgres>>,
) -> Result<String, DatabaseError> {
    answer(&profile, &flags, &mut tx).await
}

/// The same without the attribute: one after the other.
async fn page_in_turn(
    profile: Dep<Profile>,
    flags: Dep<Flags>,
    mut tx: DepMut<Transaction<'static, Postgres>>,
) -> Result<String, DatabaseError> {
    answer(&profile, &flags, &mut tx).await
}

async fn get_body(router: &Router, path: &str) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), started.elapsed())
}

#[tokio::test]
async fn lookups_in_the_database_and_the_transaction_are_set_up_side_by_side() {
    let app = App::<AppProviders>::builder().build().await.expect("build (is PostgreSQL running?)");
    let router = Router::new()
        .route("/page", get(page))
        .route("/page-in-turn", get(page_in_turn))
        .with_providers(&app)
        .layer(axum_providers::RequestDeadline::new(Duration::from_secs(10)));

    let (status, body, took) = get_body(&router, "/page").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1 true"), "the two lookups overlapped");
    // Printed, not asserted: the overlap above is the check.
    println!("together: {took:?}");

    let (status, body, took) = get_body(&router, "/page-in-turn").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "1 false"),
        "one after the other without `#[handler]`"
    );
    println!("in turn: {took:?}");
    drop(router);
    app.shutdown().await.expect("shutdown");
}
