use axum_providers::prelude::*;

struct Pool;

#[provider(scope = app, lazy = true)]
fn pool() -> Pool {
    Pool
}

fn main() {}
