use axum_providers::prelude::*;

struct RequestId(u64);

#[provider(teardown = after_response)]
fn request_id() -> RequestId {
    RequestId(7)
}

fn main() {}
