//! A provider's error type that is neither an error (`Display`/`Debug`) nor
//! a response (`IntoResponse`).

use axum_providers::prelude::*;

struct Pool;
struct Failed;

#[provider(scope = app)]
fn pool() -> Result<Pool, Failed> {
    Err(Failed)
}

#[providers(pool)]
struct AppProviders;

fn main() {}
