//! A public registry may list private provider functions (whose marker types
//! are private) producing public and private types.

#![deny(warnings)]

use axum_providers::prelude::*;

/// A public type.
pub struct Pool;
struct Secret;

#[provider(scope = app)]
fn pool() -> Pool {
    Pool
}

#[provider]
fn secret(_pool: Dep<Pool>) -> Secret {
    Secret
}

/// The app's providers, public.
#[providers(pool, secret)]
pub struct AppProviders;

fn main() {
    let _ = App::<AppProviders>::builder();
}
