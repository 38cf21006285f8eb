//! A bundle lists a function without `#[provider]`: one error, in the
//! bundle's crate, at the name.

use axum_providers::prelude::*;

pub struct Config;

pub fn plain() -> Config {
    Config
}

#[bundle(crate::plain)]
pub struct NotAProvider;

fn main() {}
