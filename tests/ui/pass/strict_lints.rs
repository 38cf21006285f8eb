//! Generated code survives strict user lints.

#![deny(warnings, missing_docs, unreachable_pub, unused, nonstandard_style, rust_2018_idioms, unused_qualifications)]
#![forbid(unsafe_code)]

use axum_providers::prelude::*;

/// Configuration.
pub struct Config {
    /// The name.
    pub name: String,
}

/// The configuration provider.
#[provider(scope = app)]
pub async fn config() -> Result<Config, std::io::Error> {
    Ok(Config { name: "app".to_owned() })
}

/// A greeting built from the configuration.
pub struct Greeting(pub String);

/// The greeting provider.
#[provider]
pub fn greeting(config: Dep<Config>) -> Teardown<Greeting> {
    Teardown::new(Greeting(config.name.clone()), |_greeting, _outcome| async {})
}

/// The app's providers.
#[providers(config, greeting)]
pub struct AppProviders;

/// A handler.
#[handler(AppProviders)]
pub async fn hello(greeting: Dep<Greeting>) -> String {
    greeting.0.clone()
}

fn main() {
    let _ = hello;
}
