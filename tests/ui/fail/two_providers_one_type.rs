use axum_providers::prelude::*;

struct Pool(&'static str);

#[provider(scope = app)]
fn primary() -> Pool {
    Pool("primary")
}

#[provider(scope = app)]
fn replica() -> Pool {
    Pool("replica")
}

#[providers(primary, replica)]
struct AppProviders;

fn main() {}
