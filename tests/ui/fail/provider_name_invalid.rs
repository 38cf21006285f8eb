use axum_providers::prelude::*;

pub struct Queue;

#[provider(scope = app, name = "job queue")]
fn queue() -> Queue {
    Queue
}

#[providers(queue)]
struct AppProviders;

fn main() {}
