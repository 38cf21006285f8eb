//! A registry lists a name that does not exist (a typo): rustc's unresolved
//! import, then the registry's own "is not a provider" (a known second error:
//! see the comment on the check in `provider-macros/src/providers.rs`).

use axum_providers::prelude::*;

pub struct Config;

#[provider(scope = app)]
fn config() -> Config {
    Config
}

#[providers(config, confg_typo)]
struct AppProviders;

fn main() {}
