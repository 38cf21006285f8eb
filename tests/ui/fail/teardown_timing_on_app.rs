use axum_providers::prelude::*;

struct Pool;

#[provider(scope = app, teardown = after_response)]
fn pool() -> Teardown<Pool> {
    Teardown::new(Pool, |_, _| async {})
}

fn main() {}
