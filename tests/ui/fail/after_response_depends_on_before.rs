//! A provider torn down after the response depends (through another) on one
//! torn down before it: teardown runs in reverse order of setup, so it would
//! be torn down before the response too.

use axum_providers::prelude::*;

struct Tx;
struct Repo;
struct Audit;

#[provider(exclusive)]
async fn tx() -> Teardown<Tx> {
    Teardown::new(Tx, |_tx, _outcome| async {})
}

#[provider]
fn repo(_tx: DepMut<Tx>) -> Repo {
    Repo
}

#[provider(teardown = after_response)]
async fn audit(_repo: Dep<Repo>) -> Teardown<Audit> {
    Teardown::new(Audit, |_audit, _outcome| async {})
}

#[providers(tx, repo, audit)]
struct AppProviders;

fn main() {}
