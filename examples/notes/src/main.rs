//! `cargo run -p notes`: the notes API on 127.0.0.1:3000, on an SQLite file
//! (`notes.db`) by default, on PostgreSQL with `DATABASE_URL=postgres://..`.
//!
//! `cargo run -p notes -- --graph` prints the dependency graph of its
//! providers (Mermaid; `--graph=dot` for Graphviz) and exits.

use std::error::Error;

use axum_providers::{App, Graph};
use notes::{Config, NotesProviders, router};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    if let Some(format) = std::env::args().skip(1).find(|arg| arg.starts_with("--graph")) {
        let graph = Graph::of::<NotesProviders>();
        print!("{}", if format == "--graph=dot" { graph.dot() } else { graph.mermaid() });
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let app = App::<NotesProviders>::builder().build().await?;
    let config = app.get::<Config>().await?;
    let listener = TcpListener::bind(&config.address).await?;
    println!("{}", notes::banner(listener.local_addr()?, &config));
    drop(config);
    axum_providers::serve(listener, router(&app), &app).await?; // drains on SIGTERM or Ctrl-C
    Ok(())
}
