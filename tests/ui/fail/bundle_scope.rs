//! The bundle's app-scoped `store` depends on `Settings`, which the app
//! provides per request.

use axum_providers::prelude::*;
use bundle_lib::{Journal, Settings, Storage};

#[provider]
fn settings() -> Settings {
    Settings { url: "mem://".into(), journal: Journal::default() }
}

#[providers(settings, include(Storage))]
struct AppProviders;

fn main() {}
