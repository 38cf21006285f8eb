//! A request-scoped provider takes a transient value: the fix names the
//! transient scope, not the request scope the provider already has.

use axum_providers::prelude::*;

struct Nonce;
struct Session;

#[provider(scope = transient)]
fn nonce() -> Nonce {
    Nonce
}

#[provider]
fn session(_nonce: Dep<Nonce>) -> Session {
    Session
}

#[providers(nonce, session)]
struct AppProviders;

fn main() {}
