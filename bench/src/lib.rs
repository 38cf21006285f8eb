//! Two servers built from the same routes, to measure what providers cost
//! against hand-written axum:
//!
//! - `/plain`: no extraction;
//! - `/deps`: 2 app-scoped values (a config, a counter) and 3 request-scoped
//!   values (a request id from a header, a user built from the request id and
//!   the config, a timer whose teardown records into the counter);
//! - `/deps-handler`: the same handler under `#[handler]`, which sets up its
//!   provided arguments together (nothing waits here: it measures what that
//!   costs); the hand-written server answers it with its `/deps` handler;
//! - `/sqlx`: a request-scoped connection from a `PgPool` of 16, `SELECT 1::int4`;
//! - `/tx`: a request-scoped transaction, `INSERT .. RETURNING id`, commit.
//!
//! The hand-written server is idiomatic axum: `State` + `FromRef`, hand-written
//! `FromRequestParts` impls that cache request values in the request's
//! extensions, and a `Drop` guard for the timer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use sqlx::PgPool;

/// The app-scoped configuration (both servers).
#[derive(Clone)]
pub struct Config {
    /// Prepended to user names.
    pub prefix: Arc<str>,
}

/// The app-scoped counter the timer records into (both servers).
#[derive(Clone, Default)]
pub struct Counter {
    /// Requests timed.
    pub requests: Arc<AtomicU64>,
    /// Total nanoseconds.
    pub nanos: Arc<AtomicU64>,
}

/// The request id, from the `x-request-id` header.
#[derive(Clone)]
pub struct RequestId(pub Arc<str>);

/// The user, from the request id and the config.
#[derive(Clone)]
pub struct User {
    /// The name.
    pub name: String,
}

fn request_id_of(headers: &HeaderMap) -> RequestId {
    RequestId(headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("anonymous").into())
}

fn user_of(id: &RequestId, config: &Config) -> User {
    User { name: format!("{}{}", config.prefix, id.0) }
}

/// The providers server.
pub mod providers {
    use axum_providers::prelude::*;
    use axum_providers::sqlx::DatabaseSettings;
    use sqlx::pool::PoolConnection;
    use sqlx::{Postgres, Transaction};

    use super::{Config, Counter, HeaderMap, Instant, Ordering, RequestId, Router, User, get};

    #[provider(scope = app)]
    fn config() -> Config {
        Config { prefix: "user-".into() }
    }

    #[provider(scope = app)]
    fn counter() -> Counter {
        Counter::default()
    }

    #[provider]
    fn request_id(headers: &HeaderMap) -> RequestId {
        super::request_id_of(headers)
    }

    #[provider]
    fn user(id: Dep<RequestId>, config: Dep<Config>) -> User {
        super::user_of(&id, &config)
    }

    /// Records the request's duration into the counter when the request ends.
    pub struct Timer;

    #[provider]
    fn timer(counter: Dep<Counter>) -> Teardown<Timer> {
        let started = Instant::now();
        let counter = (*counter).clone();
        Teardown::new(Timer, move |_, _| async move {
            counter.requests.fetch_add(1, Ordering::Relaxed);
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            counter.nanos.fetch_add(nanos, Ordering::Relaxed);
        })
    }

    #[provider(scope = app)]
    fn database() -> DatabaseSettings {
        let url = std::env::var("BENCH_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/providers_bench".to_owned());
        DatabaseSettings::new(url).max_connections(16).min_connections(16)
    }

    /// The providers of every route.
    #[providers(
        config,
        counter,
        request_id,
        user,
        timer,
        database,
        axum_providers::sqlx::postgres::pool,
        axum_providers::sqlx::postgres::connection,
        axum_providers::sqlx::postgres::transaction
    )]
    pub struct BenchProviders;

    async fn plain() -> &'static str {
        "ok"
    }

    async fn deps(
        config: Dep<Config>,
        counter: Dep<Counter>,
        id: Dep<RequestId>,
        user: Dep<User>,
        _timer: Dep<Timer>,
    ) -> String {
        let _ = (&config.prefix, &counter.requests, &id.0);
        user.name.clone()
    }

    /// `deps` under `#[handler]`: a `Together` extractor in front of the
    /// provided arguments.
    #[handler(BenchProviders)]
    async fn deps_handler(
        config: Dep<Config>,
        counter: Dep<Counter>,
        id: Dep<RequestId>,
        user: Dep<User>,
        _timer: Dep<Timer>,
    ) -> String {
        let _ = (&config.prefix, &counter.requests, &id.0);
        user.name.clone()
    }

    async fn sqlx_one(
        mut connection: DepMut<PoolConnection<Postgres>>,
    ) -> Result<String, axum_providers::sqlx::DatabaseError> {
        let one: i32 = sqlx::query_scalar("SELECT 1::int4").fetch_one(&mut **connection).await?;
        Ok(one.to_string())
    }

    async fn tx(
        mut tx: DepMut<Transaction<'static, Postgres>>,
    ) -> Result<String, axum_providers::sqlx::DatabaseError> {
        let id: i64 = sqlx::query_scalar("INSERT INTO bench_items (note) VALUES ('x') RETURNING id")
            .fetch_one(&mut **tx)
            .await?;
        Ok(id.to_string()) // committed by the provider's teardown, before the response
    }

    /// The router, with every route.
    pub fn router(app: &App<BenchProviders>) -> Router {
        Router::new()
            .route("/plain", get(plain))
            .route("/deps", get(deps))
            .route("/deps-handler", get(deps_handler))
            .route("/sqlx", get(sqlx_one))
            .route("/tx", get(tx))
            .with_providers(app)
    }
}

/// The hand-written server.
pub mod handwritten {
    use super::{
        Arc, Config, Counter, FromRef, FromRequestParts, Instant, Ordering, Parts, PgPool, RequestId, Router,
        State, StatusCode, User, get,
    };

    /// The router's state.
    #[derive(Clone)]
    pub struct AppState {
        /// The configuration.
        pub config: Config,
        /// The counter.
        pub counter: Counter,
        /// The pool.
        pub pool: PgPool,
    }

    impl FromRef<AppState> for Config {
        fn from_ref(state: &AppState) -> Self {
            state.config.clone()
        }
    }

    impl FromRef<AppState> for Counter {
        fn from_ref(state: &AppState) -> Self {
            state.counter.clone()
        }
    }

    impl FromRef<AppState> for PgPool {
        fn from_ref(state: &AppState) -> Self {
            state.pool.clone()
        }
    }

    /// `RequestId`, cached in the request's extensions.
    pub struct CachedId(pub RequestId);

    impl<S: Send + Sync> FromRequestParts<S> for CachedId {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            if let Some(id) = parts.extensions.get::<RequestId>() {
                return Ok(Self(id.clone()));
            }
            let id = super::request_id_of(&parts.headers);
            parts.extensions.insert(id.clone());
            Ok(Self(id))
        }
    }

    /// `User`, cached in the request's extensions, built from `CachedId` and `Config`.
    pub struct CachedUser(pub Arc<User>);

    impl<S> FromRequestParts<S> for CachedUser
    where
        S: Send + Sync,
        Config: FromRef<S>,
    {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            if let Some(user) = parts.extensions.get::<Arc<User>>() {
                return Ok(Self(Arc::clone(user)));
            }
            let CachedId(id) = CachedId::from_request_parts(parts, state).await?;
            let user = Arc::new(super::user_of(&id, &Config::from_ref(state)));
            parts.extensions.insert(Arc::clone(&user));
            Ok(Self(user))
        }
    }

    /// Records the request's duration into the counter when dropped.
    pub struct TimerGuard {
        started: Instant,
        counter: Counter,
    }

    impl Drop for TimerGuard {
        fn drop(&mut self) {
            self.counter.requests.fetch_add(1, Ordering::Relaxed);
            let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.counter.nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    impl<S> FromRequestParts<S> for TimerGuard
    where
        S: Send + Sync,
        Counter: FromRef<S>,
    {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(_parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
            Ok(Self { started: Instant::now(), counter: Counter::from_ref(state) })
        }
    }

    async fn plain() -> &'static str {
        "ok"
    }

    async fn deps(
        State(config): State<Config>,
        State(counter): State<Counter>,
        CachedId(id): CachedId,
        CachedUser(user): CachedUser,
        _timer: TimerGuard,
    ) -> String {
        let _ = (&config.prefix, &counter.requests, &id.0);
        user.name.clone()
    }

    fn unavailable(error: sqlx::Error) -> (StatusCode, String) {
        (StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }

    async fn sqlx_one(State(pool): State<PgPool>) -> Result<String, (StatusCode, String)> {
        let mut connection = pool.acquire().await.map_err(unavailable)?;
        let one: i32 =
            sqlx::query_scalar("SELECT 1::int4").fetch_one(&mut *connection).await.map_err(unavailable)?;
        Ok(one.to_string())
    }

    async fn tx(State(pool): State<PgPool>) -> Result<String, (StatusCode, String)> {
        let mut tx = pool.begin().await.map_err(unavailable)?;
        let id: i64 = sqlx::query_scalar("INSERT INTO bench_items (note) VALUES ('x') RETURNING id")
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(id.to_string())
    }

    /// The router, with every route.
    pub fn router(state: AppState) -> Router {
        Router::new()
            .route("/plain", get(plain))
            .route("/deps", get(deps))
            .route("/deps-handler", get(deps))
            .route("/sqlx", get(sqlx_one))
            .route("/tx", get(tx))
            .with_state(state)
    }
}
