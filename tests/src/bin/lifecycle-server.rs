//! A server that `tests/serve.rs` runs as a child process, to send it signals
//! and read what it printed.
//!
//! Prints `listening on ADDRESS` first, then one line per setup and teardown
//! (`setup tx ID`, `teardown tx ID (outcome)`, `teardown config (shutdown)`);
//! logs go to stderr. Environment: `SHUTDOWN_TIMEOUT_MS` (default 5000) and
//! `QUIET_PANICS=1` (calls `quiet_handler_panics`).

use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum_providers::prelude::*;
use axum_providers::ws::{Message, WebSocket, WebSocketUpgrade};

/// The app-scoped configuration; its teardown shows that app teardown ran.
struct Config;

#[provider(scope = app)]
fn config() -> Teardown<Config> {
    Teardown::new(Config, |_, outcome| async move { println!("teardown config ({outcome})") })
}

/// A request's transaction, named by its `x-id` header.
struct Tx(String);

#[provider]
fn tx(headers: &HeaderMap, _config: Dep<Config>) -> Teardown<Tx> {
    let id = headers.get("x-id").and_then(|v| v.to_str().ok()).unwrap_or("anonymous").to_owned();
    println!("setup tx {id}");
    Teardown::new(Tx(id), |tx, outcome| async move { println!("teardown tx {} ({outcome})", tx.0) })
}

#[providers(config, tx)]
struct ServerProviders;

#[handler(ServerProviders)]
async fn ok(tx: Dep<Tx>) -> String {
    format!("ok {}", tx.0)
}

#[handler(ServerProviders)]
async fn slow(tx: Dep<Tx>) -> String {
    tokio::time::sleep(Duration::from_millis(300)).await;
    format!("slow {}", tx.0)
}

#[handler(ServerProviders)]
async fn hang(tx: Dep<Tx>) -> String {
    tokio::time::sleep(Duration::from_secs(60)).await;
    format!("too late {}", tx.0)
}

#[handler(ServerProviders)]
async fn upload(tx: Dep<Tx>, body: String) -> String {
    format!("{} got {} bytes", tx.0, body.len())
}

#[handler(ServerProviders)]
async fn panics(_tx: Dep<Tx>) -> String {
    panic!("this handler panics")
}

/// A streaming body that holds the transaction: a chunk every 10 ms, for a minute.
#[handler(ServerProviders)]
async fn endless(tx: Dep<Tx>) -> axum::body::Body {
    use futures_util::StreamExt as _;
    let chunks = futures_util::stream::iter(0..6_000).then(move |n| {
        let id = tx.0.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, std::io::Error>(format!("{id} chunk{n};"))
        }
    });
    axum::body::Body::from_stream(chunks)
}

/// A WebSocket that holds the transaction and echoes until it closes.
#[handler(ServerProviders)]
async fn socket(upgrade: WebSocketUpgrade, tx: Dep<Tx>) -> axum::response::Response {
    upgrade.on_upgrade(move |mut socket: WebSocket| async move {
        while let Some(Ok(Message::Text(text))) = socket.recv().await {
            let reply = format!("{} says {}", tx.0, text.as_str());
            if socket.send(Message::Text(reply.into())).await.is_err() {
                break;
            }
        }
    })
}

/// A middleware inside the providers layer that catches panics itself (as
/// tower-http's `CatchPanicLayer` does).
async fn catching(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use futures_util::FutureExt as _;
    match std::panic::AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "caught").into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).init();
    if std::env::var("QUIET_PANICS").is_ok_and(|quiet| quiet == "1") {
        axum_providers::quiet_handler_panics();
    }
    let timeout = std::env::var("SHUTDOWN_TIMEOUT_MS").ok().and_then(|ms| ms.parse().ok()).unwrap_or(5000);
    let app =
        App::<ServerProviders>::builder().shutdown_timeout(Duration::from_millis(timeout)).build().await?;
    let router = Router::new()
        .route("/ok", get(ok))
        .route("/slow", get(slow))
        .route("/hang", get(hang))
        .route("/upload", post(upload))
        .route("/panic", get(panics))
        .route("/endless", get(endless))
        .route("/socket", get(socket))
        .route("/caught-panic", get(panics).layer(axum::middleware::from_fn(catching)))
        .with_providers(&app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    axum_providers::serve(listener, router, &app).await?;
    println!("served");
    Ok(())
}
