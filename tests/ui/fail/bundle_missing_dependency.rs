//! The bundle's providers need `Settings`, which the app does not provide.

use axum_providers::prelude::*;
use bundle_lib::Storage;

struct Other;

#[provider(scope = app)]
fn other() -> Other {
    Other
}

#[providers(other, include(Storage))]
struct AppProviders;

fn main() {}
