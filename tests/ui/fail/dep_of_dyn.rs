//! A handler asks for `Dep<dyn Mailer>` where the provider provides
//! `Arc<dyn Mailer>`.

use std::sync::Arc;

use axum_providers::prelude::*;

trait Mailer: Send + Sync {
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

#[handler(AppProviders)]
async fn notify(mailer: Dep<dyn Mailer>) -> &'static str {
    mailer.send("someone");
    "sent"
}

fn main() {
    let _ = notify;
}
