//! Redis providers: an app-scoped `redis::Client` (for pub/sub and dedicated
//! connections) and an app-scoped `ConnectionManager` (a multiplexed
//! connection that reconnects by itself, cheap to clone, for commands).
//!
//! | provider | scope | provides |
//! |---|---|---|
//! | [`client()`] | app | `redis::Client` |
//! | [`connection()`] | app | `redis::aio::ConnectionManager` |
//!
//! Both need a [`RedisSettings`], provided by you. Startup fails, naming the
//! provider, when Redis cannot be reached. At run time a Redis error answers
//! `503` when Redis cannot be reached and `500` otherwise ([`RedisFailure`]).
//!
//! A subscription is request-scoped: write a provider that opens a pub/sub
//! connection from the `redis::Client` and unsubscribes in its teardown; a
//! WebSocket that holds it keeps it open until the socket closes (see
//! `examples/live`).
//!
//! ```no_run
//! use axum_providers::prelude::*;
//! use axum_providers::redis::{RedisFailure, RedisSettings};
//! use redis::AsyncCommands as _;
//!
//! #[provider(scope = app)]
//! fn redis_settings() -> RedisSettings {
//!     RedisSettings::new("redis://127.0.0.1:6379")
//! }
//!
//! // `client` and `connection` in one line.
//! #[providers(redis_settings, include(axum_providers::redis::RedisProviders))]
//! struct AppProviders;
//!
//! #[handler(AppProviders)]
//! async fn hits(redis: Dep<redis::aio::ConnectionManager>) -> Result<String, RedisFailure> {
//!     let mut redis = (*redis).clone();
//!     let hits: i64 = redis.incr("hits", 1).await?;
//!     Ok(hits.to_string())
//! }
//! # fn main() {}
//! ```

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use redis::aio::ConnectionManager;

use crate::{Dep, provider};

/// Where Redis is, provided by you. Its `Debug` shows the URL without its
/// password ([`redact_url`](crate::database::redact_url)).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://host:port/db`.
    pub url: String,
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings").field("url", &crate::database::redact_url(&self.url)).finish()
    }
}

impl RedisSettings {
    /// Settings for `url`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }
}

/// A Redis failure, as the response a client gets: `503` when Redis cannot be
/// reached (refused, dropped, timed out), `500` otherwise; logged in full.
#[derive(Debug)]
pub struct RedisFailure(pub redis::RedisError);

impl RedisFailure {
    /// `true` when Redis could not be reached.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        let error = &self.0;
        error.is_io_error()
            || error.is_connection_refusal()
            || error.is_connection_dropped()
            || error.is_timeout()
    }
}

impl From<redis::RedisError> for RedisFailure {
    fn from(error: redis::RedisError) -> Self {
        Self(error)
    }
}

impl fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis: {}", self.0)
    }
}

impl std::error::Error for RedisFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for RedisFailure {
    fn into_response(self) -> Response {
        if self.is_unavailable() {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "service unavailable: the cache cannot be reached; try again shortly\n",
            )
                .into_response()
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
        }
    }
}

/// The app-scoped `redis::Client` (no connection of its own).
#[provider(scope = app, name = "redis::client", crate = crate)]
pub fn client(settings: Dep<RedisSettings>) -> Result<redis::Client, RedisFailure> {
    Ok(redis::Client::open(settings.url.as_str())?)
}

/// The app-scoped `ConnectionManager`, connected at startup; its health check
/// is a `PING`.
#[provider(scope = app, health = ping, name = "redis::connection", crate = crate)]
pub async fn connection(client: Dep<redis::Client>) -> Result<ConnectionManager, RedisFailure> {
    Ok(client.get_connection_manager().await?)
}

/// Both providers of this module in one line, `include(RedisProviders)` in
/// `#[providers(..)]`: [`client()`] and [`connection()`]. It needs a
/// [`RedisSettings`] from your providers.
#[crate::bundle(crate::redis::client, crate::redis::connection)]
pub struct RedisProviders;

async fn ping(connection: &ConnectionManager) -> Result<(), RedisFailure> {
    let mut connection = connection.clone();
    let _pong: String = redis::cmd("PING").query_async(&mut connection).await?;
    Ok(())
}
