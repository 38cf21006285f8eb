//! The smallest app: an app-scoped configuration and visit counter, a
//! request-scoped caller (from a header) and visit number, one handler.
//!
//! ```text
//! cargo run -p hello
//! curl -H 'x-user: ada' http://127.0.0.1:3000/
//! ```
//!
//! `ADDR` sets the address (default `127.0.0.1:3000`), `GREETING` the greeting.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use axum_providers::prelude::*;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Configuration, read once at startup.
struct Config {
    greeting: String,
    address: String,
}

#[provider(scope = app)]
fn config() -> Config {
    Config {
        greeting: std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_owned()),
        address: std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned()),
    }
}

/// Visits since startup; the total is logged at shutdown.
struct Visits(AtomicU64);

#[provider(scope = app)]
fn visits() -> Teardown<Visits> {
    Teardown::new(Visits(AtomicU64::new(0)), |visits, _outcome| async move {
        tracing::info!(total = visits.0.load(Ordering::Relaxed), "visits since startup");
    })
}

/// Who is calling, from the `x-user` header.
struct Caller(String);

#[provider]
fn caller(headers: HeaderMap) -> Caller {
    let name = headers.get("x-user").and_then(|value| value.to_str().ok()).unwrap_or("stranger");
    Caller(name.to_owned())
}

/// This request's visit number: request-scoped, built from the app-scoped counter.
struct Visit(u64);

#[provider]
fn visit(visits: Dep<Visits>) -> Visit {
    Visit(visits.0.fetch_add(1, Ordering::Relaxed) + 1)
}

#[providers(config, visits, caller, visit)]
struct AppProviders;

#[handler(AppProviders)]
async fn hello(config: Dep<Config>, caller: Dep<Caller>, visit: Dep<Visit>) -> String {
    format!("{}, {}! You are visitor #{}.\n", config.greeting, caller.0, visit.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let app = App::<AppProviders>::builder().build().await?;
    let address = app.get::<Config>().await?.address.clone();
    let router = Router::new().route("/", get(hello)).with_providers(&app);
    let listener = TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum_providers::serve(listener, router, &app).await?; // drains on SIGTERM or Ctrl-C
    Ok(())
}
