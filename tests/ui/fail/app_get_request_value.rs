//! `App::get` of a request-scoped value: it says to open a scope.

use axum_providers::prelude::*;

struct Caller;

#[provider]
fn caller() -> Caller {
    Caller
}

#[providers(caller)]
struct AppProviders;

async fn run(app: App<AppProviders>) {
    let _caller = app.get::<Caller>().await;
}

fn main() {
    let _ = run;
}
