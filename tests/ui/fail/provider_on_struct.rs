use axum_providers::prelude::*;

#[provider]
struct Pool;

fn main() {}
