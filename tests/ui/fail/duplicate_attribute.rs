use axum_providers::prelude::*;

struct Pool;

#[provider(scope = app, scope = request)]
fn pool() -> Pool {
    Pool
}

fn main() {}
