//! An interface provided as `Arc<dyn Mailer>` whose trait is not
//! `Send + Sync`.

use std::sync::Arc;

use axum_providers::prelude::*;

trait Mailer {
    fn send(&self, to: &str);
}

struct Smtp;

impl Mailer for Smtp {
    fn send(&self, _to: &str) {}
}

#[provider(scope = app)]
fn mailer() -> Arc<dyn Mailer> {
    Arc::new(Smtp)
}

#[providers(mailer)]
struct AppProviders;

fn main() {}
