//! Two providers of one type, and a third that depends on it: one error, the
//! conflict (no second "type annotations needed" from the dependent's
//! scope check).

use axum_providers::prelude::*;

struct Pool(&'static str);
struct Repo;

#[provider(scope = app)]
fn primary() -> Pool {
    Pool("primary")
}

#[provider(scope = app)]
fn replica() -> Pool {
    Pool("replica")
}

#[provider]
fn repo(_pool: Dep<Pool>) -> Repo {
    Repo
}

#[providers(primary, replica, repo)]
struct AppProviders;

fn main() {}
