use axum_providers::prelude::*;

struct Nonce(u64);
struct Cache;

#[provider(scope = transient)]
fn nonce() -> Nonce {
    Nonce(1)
}

#[provider(scope = app)]
fn cache(_nonce: Dep<Nonce>) -> Cache {
    Cache
}

#[providers(nonce, cache)]
struct AppProviders;

fn main() {}
