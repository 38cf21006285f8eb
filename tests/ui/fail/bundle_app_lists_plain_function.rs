//! An app that includes a bundle lists a function without `#[provider]`: the
//! same one error at its name as without the bundle.

use axum_providers::prelude::*;
use bundle_lib::{Journal, Settings, Storage};

#[provider(scope = app)]
fn settings() -> Settings {
    Settings { url: "mem://".into(), journal: Journal::default() }
}

pub struct Clock;

fn clock() -> Clock {
    Clock
}

#[providers(settings, clock, include(Storage))]
struct AppProviders;

fn main() {}
