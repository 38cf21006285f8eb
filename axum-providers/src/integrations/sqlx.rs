//! sqlx providers: an app-scoped pool, a request-scoped connection, and a
//! request-scoped transaction that commits before the response when the
//! request succeeded and rolls back otherwise.
//!
//! One module per database, each behind a cargo feature of the facade:
//!
//! | feature | module | pool | connection | transaction |
//! |---|---|---|---|---|
//! | `sqlx-postgres` | [`postgres`] | `PgPool` | `PoolConnection<Postgres>` | `Transaction<'static, Postgres>` |
//! | `sqlx-sqlite` | [`sqlite`] | `SqlitePool` | `PoolConnection<Sqlite>` | `Transaction<'static, Sqlite>` |
//! | `sqlx-any` | [`any`] | `AnyPool` | `PoolConnection<Any>` | `Transaction<'static, Any>` |
//!
//! The pool's settings come from your configuration: write a provider of
//! [`DatabaseSettings`] (usually from your own config provider), then list
//! the providers you use next to yours:
//!
//! ```no_run
//! # #[cfg(feature = "sqlx-postgres")] mod example {
//! use axum_providers::prelude::*;
//! use axum_providers::sqlx::DatabaseSettings;
//! use sqlx::{Postgres, Transaction};
//!
//! pub struct Config { database_url: String }
//!
//! #[provider(scope = app)]
//! fn config() -> Config {
//!     Config { database_url: "postgres://postgres@127.0.0.1:5432/postgres".into() }
//! }
//!
//! #[provider(scope = app)]
//! fn database(config: Dep<Config>) -> DatabaseSettings {
//!     DatabaseSettings::new(&config.database_url)
//!         .max_connections(16)
//!         .acquire_timeout(std::time::Duration::from_secs(2))
//! }
//!
//! #[providers(config, database, axum_providers::sqlx::postgres::pool, axum_providers::sqlx::postgres::transaction)]
//! pub struct AppProviders;
//!
//! #[handler(AppProviders)]
//! async fn create(mut tx: DepMut<Transaction<'static, Postgres>>) -> Result<String, axum_providers::sqlx::DatabaseError> {
//!     let id: i64 = sqlx::query_scalar("INSERT INTO notes (title) VALUES ('hello') RETURNING id")
//!         .fetch_one(&mut **tx)
//!         .await?;
//!     Ok(id.to_string()) // committed before this response is sent
//! }
//! # }
//! ```
//!
//! Errors: a pool that cannot hand out a connection within its acquire timeout
//! (exhausted, or the database is down) answers `503 Service Unavailable`
//! with a plain-text body saying so; any other database error answers a
//! generic `500`. Both are logged in full. When the database comes back, the
//! pool reconnects: no restart needed. A commit that fails turns the response
//! into a `500` (the client is never told its data was stored).

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Pool settings, provided by you (from your configuration) to the pool
/// providers of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// The connection URL (`postgres://..`, `sqlite://..`).
    pub url: String,
    /// The pool's size (default 10).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0).
    pub min_connections: u32,
    /// How long a request waits for a connection before answering `503`
    /// (default 5 s).
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// Settings for `url` with the defaults.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the pool's size.
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets the number of connections kept open when idle.
    #[must_use]
    pub fn min_connections(mut self, min: u32) -> Self {
        self.min_connections = min;
        self
    }

    /// Sets how long a request waits for a connection.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
}

/// A database failure, as the response a client gets.
#[derive(Debug)]
#[non_exhaustive]
pub enum DatabaseError {
    /// No connection within the acquire timeout: the pool is exhausted or the
    /// database is unreachable. Answers `503`.
    Unavailable {
        /// The configured acquire timeout.
        waited: Option<Duration>,
        /// What sqlx reported.
        source: sqlx::Error,
    },
    /// Any other database error. Answers `500`.
    Failed(sqlx::Error),
}

impl DatabaseError {
    /// Classifies a sqlx error; `waited` is the acquire timeout, when known.
    #[must_use]
    pub fn new(source: sqlx::Error, waited: Option<Duration>) -> Self {
        match source {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::Unavailable { waited, source },
            other => Self::Failed(other),
        }
    }
}

impl From<sqlx::Error> for DatabaseError {
    fn from(source: sqlx::Error) -> Self {
        Self::new(source, None)
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { waited: Some(waited), source } => {
                write!(f, "database unavailable: no connection within {waited:?} ({source})")
            }
            Self::Unavailable { waited: None, source } => write!(f, "database unavailable: {source}"),
            Self::Failed(source) => write!(f, "database error: {source}"),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable { source, .. } | Self::Failed(source) => Some(source),
        }
    }
}

impl IntoResponse for DatabaseError {
    fn into_response(self) -> Response {
        match self {
            Self::Unavailable { waited, .. } => {
                let body = match waited {
                    Some(waited) => format!(
                        "service unavailable: no database connection within {} ms; try again shortly\n",
                        waited.as_millis()
                    ),
                    None => {
                        "service unavailable: the database cannot be reached; try again shortly\n".to_owned()
                    }
                };
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Self::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response(),
        }
    }
}

/// Generates the providers of one sqlx database.
macro_rules! sqlx_providers {
    ($db:ident, $pool:ident, $options:ident, $name:literal) => {
        use sqlx::pool::PoolConnection;
        use sqlx::{$db, Transaction};

        use super::{DatabaseError, DatabaseSettings};
        use crate::{Dep, Outcome, Teardown, provider};

        #[doc = concat!("The app-scoped ", $name, " pool, built from [`DatabaseSettings`] at startup and closed at shutdown.")]
        ///
        /// A database that cannot be reached at startup stops the app's build
        /// with an error naming this provider.
        #[provider(scope = app, crate = crate)]
        pub async fn pool(settings: Dep<DatabaseSettings>) -> Result<Teardown<sqlx::$pool>, DatabaseError> {
            install_drivers();
            let pool = options(&settings).connect(&settings.url).await?;
            Ok(Teardown::new(pool, |pool: sqlx::$pool, _outcome: Outcome| async move { pool.close().await }))
        }

        #[doc = concat!("A request-scoped ", $name, " connection from the pool; back in the pool when the request scope closes.")]
        ///
        /// Exclusive: ask for it as `DepMut<PoolConnection<_>>`.
        #[provider(exclusive, crate = crate)]
        pub async fn connection(pool: Dep<sqlx::$pool>) -> Result<PoolConnection<$db>, DatabaseError> {
            let waited = pool.options().get_acquire_timeout();
            pool.acquire().await.map_err(|error| DatabaseError::new(error, Some(waited)))
        }

        #[doc = concat!("A request-scoped ", $name, " transaction: committed before the response when the request succeeded, rolled back otherwise.")]
        ///
        /// Exclusive: ask for it as `DepMut<Transaction<'static, _>>`. A failing
        /// commit turns the response into a `500`.
        #[provider(exclusive, crate = crate)]
        pub async fn transaction(pool: Dep<sqlx::$pool>) -> Result<Teardown<Transaction<'static, $db>>, DatabaseError> {
            let waited = pool.options().get_acquire_timeout();
            let transaction = pool.begin().await.map_err(|error| DatabaseError::new(error, Some(waited)))?;
            Ok(Teardown::new(transaction, |transaction: Transaction<'static, $db>, outcome: Outcome| async move {
                if outcome.is_success() { transaction.commit().await } else { transaction.rollback().await }
            }))
        }

        fn options(settings: &DatabaseSettings) -> sqlx::pool::PoolOptions<$db> {
            sqlx::pool::PoolOptions::<$db>::new()
                .max_connections(settings.max_connections)
                .min_connections(settings.min_connections)
                .acquire_timeout(settings.acquire_timeout)
        }
    };
}

/// PostgreSQL: `PgPool`, `PoolConnection<Postgres>`, `Transaction<'static, Postgres>`.
#[cfg(feature = "sqlx-postgres")]
pub mod postgres {
    sqlx_providers!(Postgres, PgPool, PgPoolOptions, "PostgreSQL");
    fn install_drivers() {}
}

/// SQLite (bundled): `SqlitePool`, `PoolConnection<Sqlite>`, `Transaction<'static, Sqlite>`.
///
/// Use a URL such as `sqlite://notes.db?mode=rwc` to create the file when
/// it does not exist.
#[cfg(feature = "sqlx-sqlite")]
pub mod sqlite {
    sqlx_providers!(Sqlite, SqlitePool, SqlitePoolOptions, "SQLite");
    fn install_drivers() {}
}

/// The `Any` driver: PostgreSQL or SQLite, chosen at run time by the URL's
/// scheme. `AnyPool`, `PoolConnection<Any>`, `Transaction<'static, Any>`.
///
/// The pool provider installs sqlx's default drivers before connecting.
#[cfg(feature = "sqlx-any")]
pub mod any {
    sqlx_providers!(Any, AnyPool, AnyPoolOptions, "`Any` (PostgreSQL or SQLite)");
    fn install_drivers() {
        sqlx::any::install_default_drivers();
    }
}
