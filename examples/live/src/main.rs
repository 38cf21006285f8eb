//! `cargo run -p live`: the Redis-backed WebSocket feed on 127.0.0.1:3001.

use std::error::Error;

use axum_providers::App;
use live::{Config, LiveProviders, router};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let app = App::<LiveProviders>::builder().build().await?;
    let address = app.get::<Config>().await?.address.clone();
    let listener = TcpListener::bind(&address).await?;
    println!(
        "live feed on http://{}: GET /feed/{{channel}} (WebSocket), POST /publish/{{channel}}",
        listener.local_addr()?
    );
    axum_providers::serve(listener, router(&app), &app).await?; // drains on SIGTERM or Ctrl-C
    Ok(())
}
