use axum_providers::prelude::*;

struct Pool;

#[provider(scope = app)]
fn pool() -> Pool {
    Pool
}

#[providers(pool)]
struct AppProviders;

#[handler(AppProviders)]
async fn reset(_pool: DepMut<Pool>) -> &'static str {
    "reset"
}

fn main() {}
