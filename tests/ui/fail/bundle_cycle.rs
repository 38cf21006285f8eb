//! The app's `settings` depends on the bundle's `store`, which depends on
//! `settings`.

use axum_providers::prelude::*;
use bundle_lib::{Journal, Settings, Storage, Store};

#[provider(scope = app)]
fn settings(_store: Dep<Store>) -> Settings {
    Settings { url: "mem://".into(), journal: Journal::default() }
}

#[providers(settings, include(Storage))]
struct AppProviders;

fn main() {}
