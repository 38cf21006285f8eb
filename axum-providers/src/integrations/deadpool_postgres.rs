//! deadpool-postgres providers: an app-scoped pool, a request-scoped client,
//! and a request-scoped transaction on a pooled client.
//!
//! | provider | scope | provides | ask for it as |
//! |---|---|---|---|
//! | [`pool()`] | app | `deadpool_postgres::Pool` | `Dep<Pool>` |
//! | [`client()`] | request, exclusive | `deadpool_postgres::Client` | `DepMut<Client>` |
//! | [`transaction()`] | request, exclusive | [`PooledTransaction`] | `DepMut<PooledTransaction>` |
//!
//! tokio-postgres's own `Transaction<'a>` borrows its client, so it cannot
//! outlive a function call; [`PooledTransaction`] owns the pooled client
//! instead and issues `BEGIN` at setup and `COMMIT` (on success) or
//! `ROLLBACK` (otherwise) at teardown, before the response. A client whose
//! `COMMIT` or `ROLLBACK` failed is taken out of the pool, never returned to it
//! in the middle of a transaction.
//!
//! ```no_run
//! use axum_providers::prelude::*;
//! use axum_providers::database::{DatabaseError, DatabaseSettings};
//! use axum_providers::deadpool_postgres::PooledTransaction;
//!
//! #[provider(scope = app)]
//! fn database() -> DatabaseSettings {
//!     DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres").max_connections(16)
//! }
//!
//! // The three providers in one line: `pool`, `client` and `transaction`.
//! #[providers(database, include(axum_providers::deadpool_postgres::DeadpoolProviders))]
//! struct AppProviders;
//!
//! #[handler(AppProviders)]
//! async fn count(tx: DepMut<PooledTransaction>) -> Result<String, DatabaseError> {
//!     let row = tx.query_one("SELECT count(*) FROM pg_tables", &[]).await?;
//!     Ok(row.get::<_, i64>(0).to_string())
//! }
//! # fn main() {}
//! ```

use std::ops::{Deref, DerefMut};
use std::str::FromStr;

pub use deadpool_postgres::{Client, Pool};
use deadpool_postgres::{Manager, ManagerConfig, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use crate::database::{DatabaseError, DatabaseSettings};
use crate::{Deadline, Dep, Outcome, Teardown, provider};

impl From<PoolError> for DatabaseError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Timeout(_) | PoolError::Backend(_) | PoolError::Closed => {
                Self::unavailable(error, None)
            }
            other => Self::failed(other),
        }
    }
}

impl From<tokio_postgres::Error> for DatabaseError {
    fn from(error: tokio_postgres::Error) -> Self {
        if error.is_closed() {
            Self::unavailable(error, None)
        } else if let Some(class) = error.code().and_then(|code| Self::class_of_sqlstate(code.code())) {
            class(Box::new(error))
        } else {
            Self::failed(error)
        }
    }
}

fn waited(pool: &Pool, error: PoolError) -> DatabaseError {
    match DatabaseError::from(error) {
        DatabaseError::Unavailable { source, .. } => {
            DatabaseError::Unavailable { waited: pool.timeouts().wait, source }
        }
        other => other,
    }
}

/// A pooled client, waited for as long as the pool's timeouts allow and no
/// longer than until `deadline`.
async fn get_within(pool: &Pool, deadline: Deadline) -> Result<Client, DatabaseError> {
    let mut timeouts = pool.timeouts();
    if let Some(remaining) = deadline.remaining() {
        let cap =
            |timeout: Option<std::time::Duration>| Some(timeout.map_or(remaining, |t| t.min(remaining)));
        timeouts.wait = cap(timeouts.wait);
        timeouts.create = cap(timeouts.create);
        timeouts.recycle = cap(timeouts.recycle);
    }
    pool.timeout_get(&timeouts).await.map_err(|error| match DatabaseError::from(error) {
        DatabaseError::Unavailable { source, .. } => {
            DatabaseError::Unavailable { waited: timeouts.wait, source }
        }
        other => other,
    })
}

/// The app-scoped pool, built from [`DatabaseSettings`]; startup fails (naming
/// this provider) when the database cannot be reached; closed at shutdown.
#[provider(scope = app, health = ping, name = "deadpool_postgres::pool", crate = crate)]
pub async fn pool(settings: Dep<DatabaseSettings>) -> Result<Teardown<Pool>, DatabaseError> {
    let mut config = tokio_postgres::Config::from_str(&settings.url).map_err(DatabaseError::failed)?;
    if let Some(ms) = settings.statement_timeout_ms() {
        let options = match config.get_options() {
            Some(options) => format!("{options} -c statement_timeout={ms}"),
            None => format!("-c statement_timeout={ms}"),
        };
        config.options(options);
    }
    let manager =
        Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let size = usize::try_from(settings.max_connections).unwrap_or(usize::MAX);
    let pool = Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(settings.acquire_timeout))
        .create_timeout(Some(settings.acquire_timeout))
        .recycle_timeout(Some(settings.acquire_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(DatabaseError::failed)?;
    // Fail at startup, not at the first request, when the database is down.
    drop(pool.get().await.map_err(|error| waited(&pool, error))?);
    Ok(Teardown::new(pool, |pool: Pool, _outcome: Outcome| async move { pool.close() }))
}

/// The pool's health check: a pooled client answers `SELECT 1`.
async fn ping(pool: &Pool) -> Result<(), DatabaseError> {
    pool.get().await.map_err(|error| waited(pool, error))?.simple_query("SELECT 1").await?;
    Ok(())
}

/// A request-scoped pooled client; back in the pool when the request scope
/// closes. Exclusive: ask for `DepMut<Client>`. The wait for it ends at the
/// request's [`Deadline`] if that comes first.
#[provider(exclusive, name = "deadpool_postgres::client", crate = crate)]
pub async fn client(pool: Dep<Pool>, deadline: Deadline) -> Result<Client, DatabaseError> {
    get_within(&pool, deadline).await
}

/// A transaction on a pooled client that it owns, so that it can live for the
/// whole request.
///
/// Derefs to the pooled client: run queries on it as usual.
pub struct PooledTransaction {
    client: Client,
}

impl PooledTransaction {
    /// Commits what the transaction did so far, now, and begins a new one on
    /// the same client. The response no longer decides about the committed
    /// part: it stays stored even when the handler fails afterwards; what
    /// follows is committed or rolled back by the response, as usual.
    ///
    /// # Errors
    ///
    /// The `COMMIT` or the `BEGIN` failed; answer with the error.
    pub async fn commit_now(&mut self) -> Result<(), DatabaseError> {
        self.client.batch_execute("COMMIT").await?;
        self.client.batch_execute("BEGIN").await?;
        Ok(())
    }
}

impl Deref for PooledTransaction {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for PooledTransaction {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A request-scoped transaction: `BEGIN` at setup; `COMMIT` before the
/// response when the request succeeded, `ROLLBACK` otherwise. A `COMMIT`
/// that breaks a constraint (a deferred one) answers `409 Conflict`; any
/// other failing `COMMIT` turns the response into a `500`. Exclusive: ask
/// for `DepMut<PooledTransaction>`. The wait for its client ends at the
/// request's [`Deadline`] if that comes first, and its statement timeout is
/// capped at the time then left (`SET LOCAL`, sent with the `BEGIN`).
#[provider(exclusive, name = "deadpool_postgres::transaction", crate = crate)]
pub async fn transaction(
    pool: Dep<Pool>,
    deadline: Deadline,
) -> Result<Teardown<PooledTransaction>, DatabaseError> {
    let client = get_within(&pool, deadline).await?;
    match deadline.remaining() {
        Some(remaining) => {
            let cap = crate::database::cap_statement_timeout(remaining);
            client.batch_execute(&format!("BEGIN; {cap}")).await?;
        }
        None => client.batch_execute("BEGIN").await?,
    }
    Ok(Teardown::new(
        PooledTransaction { client },
        |transaction: PooledTransaction, outcome: Outcome| async move {
            let PooledTransaction { client } = transaction;
            let statement = if outcome.is_success() { "COMMIT" } else { "ROLLBACK" };
            match client.batch_execute(statement).await {
                Ok(()) => Ok(()),
                Err(error) => {
                    // Its state is unknown: take it out of the pool.
                    drop(deadpool_postgres::Object::take(client));
                    Err(DatabaseError::from(error).commit_failed())
                }
            }
        },
    ))
}

/// Every provider of this module in one line, `include(DeadpoolProviders)` in
/// `#[providers(..)]`: [`pool()`], [`client()`] and [`transaction()`]. It
/// needs a [`DatabaseSettings`] from your providers; the request-scoped ones
/// are set up only when asked for.
#[crate::bundle(
    crate::deadpool_postgres::pool,
    crate::deadpool_postgres::client,
    crate::deadpool_postgres::transaction
)]
pub struct DeadpoolProviders;
