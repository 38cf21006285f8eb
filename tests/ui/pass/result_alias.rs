//! A provider returning a `Result` alias (`DbResult<Pool>`, `io::Result<T>`)
//! provides the `Ok` type, as with `Result<Pool, DbError>`.

#![deny(warnings)]

use axum_providers::prelude::*;

#[derive(Debug)]
struct DbError;

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database failed")
    }
}

impl std::error::Error for DbError {}

type DbResult<T> = Result<T, DbError>;

struct Pool(u32);
struct Settings(u32);

#[provider(scope = app)]
fn settings() -> std::io::Result<Settings> {
    Ok(Settings(7))
}

#[provider(scope = app)]
async fn pool(settings: Dep<Settings>) -> DbResult<Pool> {
    Ok(Pool(settings.0))
}

#[providers(settings, pool)]
struct AppProviders;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::<AppProviders>::builder().build().await.expect("the app starts");
    let pool = app.get::<Pool>().await.expect("the pool is an app value");
    assert_eq!(pool.0, 7);
    drop(pool);
    app.shutdown().await.expect("the app shuts down");
}
