//! A module of the user's own named like a provider function: `#[provider]`
//! puts a module of the function's name beside it (what `use` carries along),
//! so the two names clash.

use axum_providers::prelude::*;

pub struct Config;

#[provider(scope = app)]
fn config() -> Config {
    Config
}

mod config {}

fn main() {}
