//! `bench-server providers|handwritten PORT`: one of the two benchmark servers
//! on 127.0.0.1:PORT. The database is `BENCH_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/providers_bench`).

use std::error::Error;

use axum_providers::App;
use axum_providers_bench::{Config, Counter, handwritten, providers};
use sqlx::postgres::PgPoolOptions;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let port: u16 = args.next().and_then(|port| port.parse().ok()).unwrap_or(3100);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match mode.as_str() {
        "providers" => {
            let app = App::<providers::BenchProviders>::builder().build().await?;
            println!("providers server on {}", listener.local_addr()?);
            axum_providers::serve(listener, providers::router(&app), &app).await?;
        }
        "handwritten" => {
            let url = std::env::var("BENCH_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/providers_bench".to_owned());
            let pool = PgPoolOptions::new().max_connections(16).min_connections(16).connect(&url).await?;
            let state = handwritten::AppState {
                config: Config { prefix: "user-".into() },
                counter: Counter::default(),
                pool: pool.clone(),
            };
            println!("hand-written server on {}", listener.local_addr()?);
            axum::serve(listener, handwritten::router(state)).with_graceful_shutdown(stop).await?;
            pool.close().await;
        }
        other => return Err(format!("unknown mode `{other}`: expected `providers` or `handwritten`").into()),
    }
    Ok(())
}
