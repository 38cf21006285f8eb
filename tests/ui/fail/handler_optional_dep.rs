//! `Option<Dep<T>>` in a handler: not an extractor.

use axum_providers::prelude::*;

struct User;

#[provider]
fn user() -> User {
    User
}

#[providers(user)]
struct AppProviders;

#[handler(AppProviders)]
async fn profile(_user: Option<Dep<User>>) -> &'static str {
    "profile"
}

fn main() {
    let _ = profile;
}
