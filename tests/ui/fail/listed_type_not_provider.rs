//! The registry lists a type, or a function without `#[provider]`, instead
//! of a provider function.

use axum_providers::prelude::*;

pub struct Config;

#[provider(scope = app)]
fn config() -> Config {
    Config
}

pub struct Pool;

fn pool() -> Pool {
    Pool
}

#[providers(Config)]
struct ListsType;

#[providers(config, pool)]
struct ListsPlainFunction;

fn main() {}
