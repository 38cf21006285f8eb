use axum_providers::prelude::*;

struct Pool;

#[provider(scope = session)]
fn pool() -> Pool {
    Pool
}

fn main() {}
