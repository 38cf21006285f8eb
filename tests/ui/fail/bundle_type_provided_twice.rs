//! The app provides `Store`, and so does the bundle it includes.

use axum_providers::prelude::*;
use bundle_lib::{Journal, Settings, Store};

#[provider(scope = app)]
fn settings() -> Settings {
    Settings { url: "mem://".into(), journal: Journal::default() }
}

#[provider(scope = app)]
fn my_store() -> Store {
    Store { url: "mem://mine".into() }
}

#[providers(settings, my_store, include(bundle_lib::Storage))]
struct AppProviders;

fn main() {}
