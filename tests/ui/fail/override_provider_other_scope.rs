//! An override provider of another scope than the provider it replaces.

use axum_providers::prelude::*;

pub struct Config(u32);

#[provider(scope = app)]
fn config() -> Config {
    Config(1)
}

#[provider]
fn config_per_request() -> Config {
    Config(2)
}

#[providers(config)]
pub struct AppProviders;

fn main() {
    let _builder = App::<AppProviders>::builder().override_provider::<config_per_request::Provider>();
}
