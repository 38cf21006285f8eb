//! An interface whose trait is not `Send + Sync`, asked for by a provider and
//! by a handler: one error at the provider that returns it, then one at each
//! place that asks for it (and axum's `Handler` error at the route).

use std::sync::Arc;

use axum_providers::prelude::*;

trait Mailer {
    fn send(&self, to: &str);
}

struct Smtp;

impl Mailer for Smtp {
    fn send(&self, _to: &str) {}
}

struct Signup;

#[provider(scope = app)]
fn mailer() -> Arc<dyn Mailer> {
    Arc::new(Smtp)
}

#[provider]
fn signup(mailer: Dep<Arc<dyn Mailer>>) -> Signup {
    mailer.send("a@b.c");
    Signup
}

#[providers(mailer, signup)]
struct AppProviders;

#[handler(AppProviders)]
async fn welcome(mailer: Dep<Arc<dyn Mailer>>) -> &'static str {
    mailer.send("x@y.z");
    "sent"
}

fn main() {
    let _ = axum::Router::<()>::new().route("/", axum::routing::get(welcome));
}
