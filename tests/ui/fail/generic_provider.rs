use axum_providers::prelude::*;

#[provider]
fn boxed<T: Default + Send + Sync + 'static>() -> Box<T> {
    Box::default()
}

fn main() {}
