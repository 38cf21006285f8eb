use axum_providers::prelude::*;

struct Audit;
struct Clock;

#[provider]
fn audit() -> Audit {
    Audit
}

#[provider]
fn clock() -> Clock {
    Clock
}

#[providers(audit, autouse = [audit, clock])]
struct AppProviders;

fn main() {}
