//! A bundle names its providers and bundles from the crate root; an
//! included name must be a bundle, included once.

use axum_providers::prelude::*;

pub struct Config;

#[provider(scope = app)]
pub fn config() -> Config {
    Config
}

#[bundle(config)]
pub struct Relative;

#[bundle(crate::config, include(bundle_lib::Storage))]
pub struct ForeignInclude;

#[providers(include(Config))]
struct IncludesAType;

#[providers(config, include(bundle_lib::Storage), include(bundle_lib::Storage))]
struct IncludedTwice;

fn main() {}
