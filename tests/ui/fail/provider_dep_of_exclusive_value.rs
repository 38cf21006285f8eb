//! A provider takes `Dep<T>` of a value provided for exclusive use: the
//! error is at the provider's parameter.

use axum_providers::prelude::*;

struct Connection;
struct Repo;

#[provider(exclusive)]
fn connection() -> Connection {
    Connection
}

#[provider]
fn repo(_connection: Dep<Connection>) -> Repo {
    Repo
}

#[providers(connection, repo)]
struct AppProviders;

fn main() {}
