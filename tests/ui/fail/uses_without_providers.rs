//! Side-effect providers on a router that was never given the app container:
//! `uses` exists only for routers whose state carries it.

use axum::Router;
use axum::routing::get;
use axum_providers::prelude::*;

pub struct Audit;

#[provider]
fn audit() -> Audit {
    Audit
}

#[providers(audit)]
pub struct AppProviders;

fn main() {
    let _router: Router = Router::new().route("/", get(|| async { "hi" })).uses::<(Audit,)>();
}
