//! `crate = "..."` points generated code at a renamed facade.

extern crate axum_providers as di;

use di::{Dep, handler, provider, providers};

struct Config;
struct Client;

#[provider(scope = app, crate = "di")]
fn config() -> Config {
    Config
}

#[provider(crate = di)]
fn client(_config: Dep<Config>) -> Client {
    Client
}

#[providers(config, client, crate = di)]
struct AppProviders;

#[handler(AppProviders, crate = di)]
async fn ping(_client: Dep<Client>) -> &'static str {
    "pong"
}

fn main() {
    let _ = ping;
}
