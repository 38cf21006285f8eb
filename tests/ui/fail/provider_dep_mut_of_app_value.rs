//! A provider takes `DepMut<T>` of an app value: the error is at the
//! provider's parameter.

use axum_providers::prelude::*;

struct Config;
struct Checkout;

#[provider(scope = app)]
fn config() -> Config {
    Config
}

#[provider]
fn checkout(_config: DepMut<Config>) -> Checkout {
    Checkout
}

#[providers(config, checkout)]
struct AppProviders;

fn main() {}
