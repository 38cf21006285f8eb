use axum_providers::prelude::*;

struct Pool;

#[provider(scope = app, exclusive)]
fn pool() -> Pool {
    Pool
}

fn main() {}
