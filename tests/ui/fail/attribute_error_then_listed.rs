//! A mistake in `#[provider]` is one error, even when a registry lists the
//! provider.
use axum_providers::prelude::*;

pub struct Config;

#[provider(scope = aplication)]
fn config() -> Config {
    Config
}

#[provider]
fn label<T: Default>() -> T {
    T::default()
}

#[providers(config, label)]
struct AppProviders;

fn main() {}
