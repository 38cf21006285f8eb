//! Without `#[handler]`, axum's own `#[debug_handler]` with the app's state
//! type reports a missing provider at the argument, in this crate's words.
use axum::{Router, routing::get};
use axum_providers::prelude::*;

pub struct Greeting;
pub struct User;

#[provider(scope = app)]
fn greeting() -> Greeting {
    Greeting
}

#[providers(greeting)]
struct AppProviders;

#[axum::debug_handler(state = axum_providers::Providers<AppProviders>)]
async fn me(_user: Dep<User>) -> &'static str {
    "me"
}

fn main() {
    let _: Router<axum_providers::Providers<AppProviders>> = Router::new().route("/", get(me));
}
