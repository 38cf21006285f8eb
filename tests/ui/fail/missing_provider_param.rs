use axum_providers::prelude::*;

struct Settings;
struct Pool;

#[provider(scope = app)]
fn pool(_settings: Dep<Settings>) -> Pool {
    Pool
}

#[providers(pool)]
struct AppProviders;

fn main() {}
