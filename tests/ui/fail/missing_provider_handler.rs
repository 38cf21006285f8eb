use axum_providers::prelude::*;

struct Config;
struct User;

#[provider(scope = app)]
fn config() -> Config {
    Config
}

#[providers(config)]
struct AppProviders;

#[handler(AppProviders)]
async fn profile(_config: Dep<Config>, _user: Dep<User>) -> &'static str {
    "profile"
}

fn main() {}
