use axum::http::HeaderMap;
use axum_providers::prelude::*;

struct Settings;

#[provider(scope = app)]
fn settings(_headers: HeaderMap) -> Settings {
    Settings
}

fn main() {}
