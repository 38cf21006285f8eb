//! A live feed, in the spirit of Bocadillo's Redis example: `GET /feed/{channel}`
//! upgrades to a WebSocket that streams every message published on a Redis
//! channel; `POST /publish/{channel}` publishes one.
//!
//! The subscription is a request-scoped, exclusive provider: it opens a
//! pub/sub connection and subscribes at setup, and unsubscribes in its
//! teardown. The WebSocket task holds it (`DepMut<Subscription>`), so the
//! request scope stays open as long as the socket: the teardown runs when the
//! socket closes, once.
//!
//! Redis must run on `REDIS_URL` (default `redis://127.0.0.1:6379`):
//! `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`.

use axum::Router;
use axum::extract::Path;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use axum_providers::prelude::*;
use axum_providers::redis::{RedisFailure, RedisSettings};
use futures_util::{SinkExt as _, StreamExt as _};
use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, PubSub};

/// Settings from the environment; its `Debug` hides the URL's password.
#[derive(Clone)]
pub struct Config {
    /// `REDIS_URL` (default `redis://127.0.0.1:6379`).
    pub redis_url: String,
    /// `ADDR` (default `127.0.0.1:3001`).
    pub address: String,
}

impl Config {
    /// Reads the settings from the environment.
    #[must_use]
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Self { redis_url: var("REDIS_URL", "redis://127.0.0.1:6379"), address: var("ADDR", "127.0.0.1:3001") }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("redis_url", &axum_providers::database::redact_url(&self.redis_url))
            .field("address", &self.address)
            .finish()
    }
}

#[provider(scope = app)]
fn config() -> Config {
    Config::from_env()
}

#[provider(scope = app)]
fn redis_settings(config: Dep<Config>) -> RedisSettings {
    RedisSettings::new(&config.redis_url)
}

/// A live subscription to one channel.
pub struct Subscription {
    /// The channel.
    pub channel: String,
    pubsub: PubSub,
}

#[provider(exclusive)]
async fn subscription(
    client: Dep<redis::Client>,
    Path(channel): Path<String>,
) -> Result<Teardown<Subscription>, RedisFailure> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&channel).await?;
    tracing::info!(%channel, "subscribed");
    Ok(Teardown::new(Subscription { channel, pubsub }, |mut subscription, outcome| async move {
        let result = subscription.pubsub.unsubscribe(&subscription.channel).await;
        tracing::info!(channel = %subscription.channel, %outcome, "unsubscribed");
        result
    }))
}

/// The providers of the feed.
/// Redis's client and connection come in one line, as the Redis bundle.
#[providers(config, redis_settings, subscription, include(axum_providers::redis::RedisProviders))]
pub struct LiveProviders;

#[handler(LiveProviders)]
async fn feed(upgrade: WebSocketUpgrade, subscription: DepMut<Subscription>) -> Response {
    upgrade.on_upgrade(move |socket| stream(socket, subscription))
}

/// Forwards every published message to the socket until either side ends.
async fn stream(socket: WebSocket, mut subscription: DepMut<Subscription>) {
    let (mut outgoing, mut incoming) = socket.split();
    let channel = subscription.channel.clone();
    let mut messages = subscription.pubsub.on_message();
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { break };
                let Ok(text) = message.get_payload::<String>() else { continue };
                if outgoing.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            received = incoming.next() => match received {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    tracing::info!(%channel, "socket closed");
    // `subscription` is dropped here; its teardown unsubscribes.
}

#[handler(LiveProviders)]
async fn publish(
    redis: Dep<ConnectionManager>,
    Path(channel): Path<String>,
    message: String,
) -> Result<String, RedisFailure> {
    let mut redis = (*redis).clone();
    let receivers: i64 = redis.publish(&channel, message).await?;
    Ok(format!("{receivers}\n"))
}

/// The routes, given the app container.
pub fn router(app: &App<LiveProviders>) -> Router {
    Router::new()
        .route("/feed/{channel}", get(feed))
        .route("/publish/{channel}", post(publish))
        .with_providers(app)
}
