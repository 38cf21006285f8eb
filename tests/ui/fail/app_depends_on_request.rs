use axum_providers::prelude::*;

struct RequestId(u64);
struct Cache;

#[provider]
fn request_id() -> RequestId {
    RequestId(1)
}

#[provider(scope = app)]
fn cache(_id: Dep<RequestId>) -> Cache {
    Cache
}

#[providers(request_id, cache)]
struct AppProviders;

fn main() {}
