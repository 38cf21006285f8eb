use axum_providers::prelude::*;

#[provider]
async fn audit() {}

fn main() {}
