use axum_providers::prelude::*;

pub struct Tx;

#[provider(exclusive)]
fn tx() -> Tx {
    Tx
}

#[providers(tx)]
struct AppProviders;

#[handler(AppProviders)]
async fn transfer(_from: DepMut<Tx>, _to: DepMut<Tx>) -> &'static str {
    "moved"
}

fn main() {
    let _ = transfer;
}
