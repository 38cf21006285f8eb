use axum_providers::prelude::*;

struct Connection;

#[provider(exclusive)]
fn connection() -> Connection {
    Connection
}

#[providers(connection)]
struct AppProviders;

#[handler(AppProviders)]
async fn list(_connection: Dep<Connection>) -> &'static str {
    "list"
}

fn main() {}
