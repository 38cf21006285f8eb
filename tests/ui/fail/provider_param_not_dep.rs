use axum_providers::prelude::*;

pub struct Config;
pub struct Greeting;

#[provider(scope = app)]
fn config() -> Config {
    Config
}

#[provider]
fn greeting(_config: Config) -> Greeting {
    Greeting
}

#[providers(config, greeting)]
struct AppProviders;

fn main() {}
