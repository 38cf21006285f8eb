use axum::Router;
use axum::routing::get;
use axum_providers::prelude::*;

struct Audit;
struct RateLimit;

#[provider]
fn audit() -> Audit {
    Audit
}

#[providers(audit)]
struct AppProviders;

fn main() {
    let _router: Router<axum_providers::Providers<AppProviders>> =
        Router::new().route("/", get(|| async { "hi" })).uses::<(Audit, RateLimit)>();
}
