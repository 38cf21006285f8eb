//! sqlx providers: an app-scoped pool, a request-scoped connection, and a
//! request-scoped transaction that commits before the response when the
//! request succeeded and rolls back otherwise.
//!
//! One module per database, each behind a cargo feature of the facade:
//!
//! | feature | module | pool | connection | transaction | lazy_transaction |
//! |---|---|---|---|---|---|
//! | `sqlx-postgres` | `postgres` | `PgPool` | `PoolConnection<Postgres>` | `Transaction<'static, Postgres>` | `LazyTransaction<Postgres>` |
//! | `sqlx-sqlite` | `sqlite` | `SqlitePool` | `PoolConnection<Sqlite>` | `Transaction<'static, Sqlite>` | `LazyTransaction<Sqlite>` |
//! | `sqlx-any` | `any` | `AnyPool` | `PoolConnection<Any>` | `Transaction<'static, Any>` | `LazyTransaction<Any>` |
//!
//! `transaction` takes its connection when the handler's argument is
//! extracted; `lazy_transaction` when the handler first calls
//! [`LazyTransaction::connection`] (see the guide's
//! [databases](crate::guide::databases) page).
//!
//! The pool's settings come from your configuration: write a provider of
//! [`DatabaseSettings`] (usually from your own config provider), then include
//! the database's bundle (`postgres::PostgresProviders`,
//! `sqlite::SqliteProviders`, `any::AnyProviders`: all four providers in one
//! line) or list the providers you use next to yours:
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
//! #[providers(config, database, include(axum_providers::sqlx::postgres::PostgresProviders))]
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
//! with a plain-text body saying so; so do a connection lost during the
//! request and a statement beyond the statement timeout; a serialization
//! failure or deadlock answers `409` with `Retry-After`; any other database
//! error answers a generic `500` (the table is at [`DatabaseError`]). Every
//! `5xx` is logged in full. When the database comes back, the
//! pool reconnects: no restart needed. A commit that fails turns the response
//! into a `500` (the client is never told its data was stored), or a `409
//! Conflict` when it broke an integrity constraint (a unique or foreign key
//! checked at commit); a query in the handler that breaks one answers `409`
//! too when its error goes to the response as [`DatabaseError`].

pub use crate::database::{DatabaseError, DatabaseSettings};
use std::time::Duration;

use crate::Deadline;

/// Committing inside the handler: `tx.commit_now().await?` on the
/// request's transaction (`DepMut<Transaction<'static, _>>`).
///
/// It commits what the transaction did so far, at once, and begins a new
/// transaction on the same connection for the rest of the request. From then
/// on the response no longer decides about the committed part: it stays
/// stored even when the handler fails afterwards (an error response, a panic,
/// a client that went away). What the handler does after `commit_now` is
/// committed or rolled back by the response, as usual.
///
/// ```no_run
/// # #[cfg(feature = "sqlx-postgres")] mod example {
/// use axum_providers::prelude::*;
/// use axum_providers::sqlx::{CommitNow as _, DatabaseError};
/// use sqlx::{Postgres, Transaction};
///
/// # #[providers(axum_providers::sqlx::postgres::transaction, axum_providers::sqlx::postgres::pool, settings)] struct AppProviders;
/// # #[provider(scope = app)] fn settings() -> axum_providers::sqlx::DatabaseSettings { axum_providers::sqlx::DatabaseSettings::new("postgres://") }
/// #[handler(AppProviders)]
/// async fn import(mut tx: DepMut<Transaction<'static, Postgres>>) -> Result<&'static str, DatabaseError> {
///     sqlx::query("INSERT INTO audit (what) VALUES ('import started')").execute(&mut **tx).await?;
///     tx.commit_now().await?; // stored, whatever the response
///     sqlx::query("INSERT INTO items SELECT * FROM staging").execute(&mut **tx).await?;
///     Ok("imported") // committed before this response is sent; rolled back on an error
/// }
/// # }
/// ```
pub trait CommitNow {
    /// Commits now and begins a new transaction on the same connection.
    ///
    /// # Errors
    ///
    /// The `COMMIT` or the `BEGIN` failed; after a failed `BEGIN` the rest of
    /// the request runs outside a transaction (the error's response rolls
    /// nothing back), so answer with the error.
    fn commit_now(&mut self) -> impl Future<Output = Result<(), DatabaseError>> + Send;
}

/// A request's transaction that takes its connection when it is first used,
/// not when the handler's arguments are extracted: provided by
/// `lazy_transaction` (one per database module), asked for as
/// `DepMut<LazyTransaction<_>>`.
///
/// A request that is answered before it needs the database (a malformed
/// path, a validation error, a slow or missing body) never takes a
/// connection, so it is answered also while the pool is exhausted, and a slow
/// client holds none. At the end of the request, a transaction that was
/// begun is committed (success) or rolled back (otherwise) before the
/// response, as with `transaction`; one that was never begun costs nothing.
///
/// ```no_run
/// # #[cfg(feature = "sqlx-postgres")] mod example {
/// use axum::Json;
/// use axum::http::StatusCode;
/// use axum_providers::prelude::*;
/// use axum_providers::sqlx::{DatabaseError, DatabaseSettings, LazyTransaction};
/// use sqlx::Postgres;
///
/// # #[provider(scope = app)] fn settings() -> DatabaseSettings { DatabaseSettings::new("postgres://") }
/// #[providers(settings, axum_providers::sqlx::postgres::pool, axum_providers::sqlx::postgres::lazy_transaction)]
/// pub struct AppProviders;
///
/// #[handler(AppProviders)]
/// async fn create(mut tx: DepMut<LazyTransaction<Postgres>>, Json(title): Json<String>) -> Result<StatusCode, DatabaseError> {
///     if title.is_empty() {
///         return Ok(StatusCode::UNPROCESSABLE_ENTITY); // no connection was taken
///     }
///     let db = tx.connection().await?; // BEGIN here, on a connection from the pool
///     sqlx::query("INSERT INTO notes (title) VALUES ($1)").bind(title).execute(&mut *db).await?;
///     Ok(StatusCode::CREATED) // committed before this response is sent
/// }
/// # }
/// ```
pub struct LazyTransaction<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    transaction: Option<sqlx::Transaction<'static, DB>>,
    deadline: Deadline,
}

impl<DB: sqlx::Database> LazyTransaction<DB> {
    /// A transaction on `pool`, begun on first use.
    #[must_use]
    pub fn new(pool: sqlx::Pool<DB>) -> Self {
        Self { pool, transaction: None, deadline: Deadline::NONE }
    }

    /// Bounds the wait for a connection by `deadline` (the request's, which
    /// the `lazy_transaction` providers pass), and, on PostgreSQL, caps the
    /// transaction's statement timeout at the time left when it begins.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    /// The transaction's connection, for queries (`.execute(&mut *db)`):
    /// the first call takes a connection from the pool and begins the
    /// transaction, the next ones return the same.
    ///
    /// # Errors
    ///
    /// No connection within the acquire timeout (`503`), or a failing `BEGIN`.
    pub async fn connection(&mut self) -> Result<&mut DB::Connection, DatabaseError>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    {
        let transaction = match self.transaction.take() {
            Some(transaction) => transaction,
            None => begin(&self.pool, self.deadline).await?,
        };
        Ok(&mut **self.transaction.insert(transaction))
    }

    /// `true` once [`connection`](Self::connection) began the transaction
    /// (and until [`commit_now`](CommitNow::commit_now) committed it).
    #[must_use]
    pub fn is_begun(&self) -> bool {
        self.transaction.is_some()
    }

    /// Commits (when `outcome` is a success) or rolls back the transaction,
    /// if it was begun: the teardown of the `lazy_transaction` providers, and
    /// of a transaction provider of your own on a second pool. A commit that
    /// breaks a constraint or loses a serialization race chooses its `409`
    /// response ([`Respond`](crate::Respond)).
    ///
    /// # Errors
    ///
    /// The `COMMIT` or `ROLLBACK` failed.
    pub async fn finish(self, outcome: crate::Outcome) -> Result<(), crate::BoxError> {
        let Some(transaction) = self.transaction else { return Ok(()) };
        if outcome.is_success() {
            transaction.commit().await.map_err(|error| from_sqlx(error, None).commit_failed())
        } else {
            transaction.rollback().await.map_err(crate::BoxError::from)
        }
    }
}

impl<DB: sqlx::Database> CommitNow for LazyTransaction<DB> {
    /// Commits the transaction now, if it was begun; the next
    /// [`connection`](LazyTransaction::connection) begins a new one.
    async fn commit_now(&mut self) -> Result<(), DatabaseError> {
        match self.transaction.take() {
            Some(transaction) => transaction.commit().await.map_err(|error| from_sqlx(error, None)),
            None => Ok(()),
        }
    }
}

impl<DB: sqlx::Database> std::fmt::Debug for LazyTransaction<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyTransaction").field("begun", &self.is_begun()).finish_non_exhaustive()
    }
}

/// Waits for `acquire` as long as the pool's acquire timeout allows, and no
/// longer than until `deadline`.
async fn acquire_within<T>(
    pool_timeout: Duration,
    deadline: Deadline,
    acquire: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DatabaseError> {
    let waited = deadline.cap(pool_timeout);
    if waited >= pool_timeout {
        return acquire.await.map_err(|error| from_sqlx(error, Some(pool_timeout)));
    }
    match tokio::time::timeout(waited, acquire).await {
        Ok(acquired) => acquired.map_err(|error| from_sqlx(error, Some(waited))),
        Err(_elapsed) => Err(DatabaseError::unavailable(sqlx::Error::PoolTimedOut, Some(waited))),
    }
}

/// A transaction on `pool`, its connection waited for until `deadline` at
/// most, with PostgreSQL's statement timeout capped at the time then left.
async fn begin<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    deadline: Deadline,
) -> Result<sqlx::Transaction<'static, DB>, DatabaseError>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let pool_timeout = pool.options().get_acquire_timeout();
    let mut transaction = acquire_within(pool_timeout, deadline, pool.begin()).await?;
    if let Some(remaining) = deadline.remaining()
        && is_postgres::<DB>(&transaction)
    {
        let cap = crate::database::cap_statement_timeout(remaining);
        sqlx::raw_sql(sqlx::AssertSqlSafe(cap)).execute(&mut *transaction).await.map_err(from_sqlx_error)?;
    }
    Ok(transaction)
}

fn from_sqlx_error(error: sqlx::Error) -> DatabaseError {
    from_sqlx(error, None)
}

/// `true` when the connection is PostgreSQL's (the `Any` driver's by its backend).
fn is_postgres<DB: sqlx::Database>(connection: &DB::Connection) -> bool {
    if DB::NAME == "PostgreSQL" {
        return true;
    }
    #[cfg(feature = "sqlx-any")]
    if let Some(connection) = (connection as &dyn std::any::Any).downcast_ref::<sqlx::AnyConnection>() {
        return connection.backend_name() == "PostgreSQL";
    }
    let _ = connection;
    false
}

impl From<sqlx::Error> for DatabaseError {
    fn from(source: sqlx::Error) -> Self {
        from_sqlx(source, None)
    }
}

/// Classifies a sqlx error: no connection in time (or none possible), or one
/// lost, is `Unavailable`; a serialization failure or deadlock `Contention`;
/// a broken integrity constraint `Conflict`; the rest `Failed` (the table of
/// [`DatabaseError`]).
fn from_sqlx(source: sqlx::Error, waited: Option<std::time::Duration>) -> DatabaseError {
    match source {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            DatabaseError::unavailable(source, waited)
        }
        sqlx::Error::Database(ref error) => {
            if let Some(class) = error.code().as_deref().and_then(DatabaseError::class_of_sqlstate) {
                class(Box::new(source))
            } else if is_sqlite_busy(&**error) {
                DatabaseError::TimedOut(Box::new(source))
            } else if matches!(error.kind(), sqlx::error::ErrorKind::Other) {
                DatabaseError::failed(source)
            } else {
                DatabaseError::conflict(source)
            }
        }
        other => DatabaseError::failed(other),
    }
}

/// Why a pool that timed out at startup got no connection: sqlx retries a
/// refused connection until its acquire timeout and then reports only the
/// timeout, so one direct attempt (within the same timeout) finds the cause
/// ("connection refused", an unknown host, a rejected password).
async fn why_no_connection<O>(connect: &O, waited: std::time::Duration) -> DatabaseError
where
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
{
    match tokio::time::timeout(waited, connect.connect()).await {
        Ok(Err(cause)) => DatabaseError::unavailable(cause, Some(waited)),
        Ok(Ok(connection)) => {
            // Up again meanwhile: the pool's own timeout is the answer.
            drop(sqlx::Connection::close(connection).await);
            DatabaseError::unavailable(sqlx::Error::PoolTimedOut, Some(waited))
        }
        Err(_) => DatabaseError::unavailable(sqlx::Error::PoolTimedOut, Some(waited)),
    }
}

/// `SQLITE_BUSY` or `SQLITE_LOCKED` (with their extended codes): the file
/// stayed locked by another connection for the whole busy timeout.
fn is_sqlite_busy(error: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-any"))]
    if let Some(error) = error.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        const SQLITE_BUSY: i32 = 5;
        const SQLITE_LOCKED: i32 = 6;
        let code = sqlx::error::DatabaseError::code(error).and_then(|code| code.parse::<i32>().ok());
        let code = code.unwrap_or_default();
        return matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED);
    }
    let _ = error;
    false
}

/// `PRAGMA busy_timeout` for a new SQLite connection: a locked file is
/// waited for as long as a connection is (the acquire timeout), then answered
/// `503`, instead of sqlx's 5 s.
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-any"))]
fn sqlite_session(settings: &DatabaseSettings) -> Vec<String> {
    vec![format!("PRAGMA busy_timeout = {}", settings.acquire_timeout.as_millis())]
}

/// `SET statement_timeout` for a new PostgreSQL connection.
#[cfg(any(feature = "sqlx-postgres", feature = "sqlx-any"))]
fn postgres_session(settings: &DatabaseSettings) -> Vec<String> {
    settings.statement_timeout_ms().map(|ms| format!("SET statement_timeout = {ms}")).into_iter().collect()
}

/// Generates the providers of one sqlx database.
macro_rules! sqlx_providers {
    // The providers' names (`sqlx::postgres::pool`, ..) are given whole: an
    // attribute's argument cannot be built with `concat!`.
    ($db:ident, $pool:ident, $options:ident, $name:literal, names: $pool_name:tt, $connection_name:tt, $transaction_name:tt, $lazy_name:tt) => {
        use sqlx::pool::PoolConnection;
        use sqlx::{$db, Transaction};

        use super::{DatabaseError, DatabaseSettings, from_sqlx};
        use crate::{Deadline, Dep, Outcome, Teardown, provider};

        #[doc = concat!("The app-scoped ", $name, " pool, built from [`DatabaseSettings`] at startup and closed at shutdown.")]
        ///
        /// A database that cannot be reached at startup stops the app's build
        /// with an error naming this provider.
        #[provider(scope = app, health = ping, name = $pool_name, crate = crate)]
        pub async fn pool(settings: Dep<DatabaseSettings>) -> Result<Teardown<sqlx::$pool>, DatabaseError> {
            let pool = connect(&settings).await?;
            Ok(Teardown::new(pool, |pool: sqlx::$pool, _outcome: Outcome| async move { pool.close().await }))
        }

        #[doc = concat!("A ", $name, " pool built from `settings` as [`pool()`] builds its own (size, timeouts, the session settings of each connection, the cause of a failed start), for a pool of your own: a second database with settings of its own (see the guide's databases page). Close it with `pool.close().await` in your provider's teardown.")]
        ///
        /// # Errors
        ///
        /// The URL is malformed, or no connection within the acquire timeout
        /// (with the cause of the last attempt).
        pub async fn connect(settings: &DatabaseSettings) -> Result<sqlx::$pool, DatabaseError> {
            install_drivers();
            let connect: <<$db as sqlx::Database>::Connection as sqlx::Connection>::Options =
                settings.url.parse()?;
            match options(settings).connect_with(connect.clone()).await {
                Ok(pool) => Ok(pool),
                Err(sqlx::Error::PoolTimedOut) => {
                    Err(super::why_no_connection(&connect, settings.acquire_timeout).await)
                }
                Err(error) => Err(error.into()),
            }
        }

        #[doc = concat!("A request-scoped ", $name, " connection from the pool; back in the pool when the request scope closes.")]
        ///
        /// Exclusive: ask for it as `DepMut<PoolConnection<_>>`. The wait for
        /// it ends at the request's [`Deadline`] if that comes first.
        #[provider(exclusive, name = $connection_name, crate = crate)]
        pub async fn connection(pool: Dep<sqlx::$pool>, deadline: Deadline) -> Result<PoolConnection<$db>, DatabaseError> {
            super::acquire_within(pool.options().get_acquire_timeout(), deadline, pool.acquire()).await
        }

        #[doc = concat!("A request-scoped ", $name, " transaction: committed before the response when the request succeeded, rolled back otherwise.")]
        ///
        /// Exclusive: ask for it as `DepMut<Transaction<'static, _>>`. A commit
        /// that breaks a constraint (a deferred one) answers `409 Conflict`;
        /// any other failing commit turns the response into a `500`. The wait
        /// for its connection ends at the request's [`Deadline`] if that comes
        /// first, and on PostgreSQL its statement timeout is capped at the
        /// time then left (`SET LOCAL`).
        #[provider(exclusive, name = $transaction_name, crate = crate)]
        pub async fn transaction(pool: Dep<sqlx::$pool>, deadline: Deadline) -> Result<Teardown<Transaction<'static, $db>>, DatabaseError> {
            let transaction = super::begin(&pool, deadline).await?;
            Ok(Teardown::new(transaction, |transaction: Transaction<'static, $db>, outcome: Outcome| async move {
                if outcome.is_success() {
                    transaction.commit().await.map_err(|error| from_sqlx(error, None).commit_failed())
                } else {
                    transaction.rollback().await.map_err(crate::BoxError::from)
                }
            }))
        }

        #[doc = concat!("A request-scoped ", $name, " transaction begun on first use ([`LazyTransaction`](super::LazyTransaction)): no connection is taken until the handler calls `connection()`; committed before the response when the request succeeded and it was begun, rolled back otherwise.")]
        ///
        /// Exclusive: ask for it as `DepMut<LazyTransaction<_>>`.
        #[provider(exclusive, name = $lazy_name, crate = crate)]
        pub fn lazy_transaction(pool: Dep<sqlx::$pool>, deadline: Deadline) -> Teardown<super::LazyTransaction<$db>> {
            let transaction = super::LazyTransaction::new((*pool).clone()).with_deadline(deadline);
            Teardown::new(transaction, super::LazyTransaction::finish)
        }

        impl super::CommitNow for Transaction<'static, $db> {
            async fn commit_now(&mut self) -> Result<(), DatabaseError> {
                // The `Transaction` stays open (for sqlx and for the teardown
                // that commits or rolls it back); its server-side
                // transaction is committed and a new one begun.
                let connection: &mut <$db as sqlx::Database>::Connection = self;
                sqlx::raw_sql("COMMIT").execute(&mut *connection).await.map_err(|error| from_sqlx(error, None))?;
                sqlx::raw_sql("BEGIN").execute(&mut *connection).await.map_err(|error| from_sqlx(error, None))?;
                Ok(())
            }
        }

        /// The pool's health check: a connection answers a ping.
        async fn ping(pool: &sqlx::$pool) -> Result<(), sqlx::Error> {
            let mut connection = pool.acquire().await?;
            sqlx::Connection::ping(&mut *connection).await
        }

        fn options(settings: &DatabaseSettings) -> sqlx::pool::PoolOptions<$db> {
            let settings = settings.clone();
            sqlx::pool::PoolOptions::<$db>::new()
                .max_connections(settings.max_connections)
                .min_connections(settings.min_connections)
                .acquire_timeout(settings.acquire_timeout)
                .after_connect(move |connection, _| {
                    let statements = session(connection, &settings);
                    Box::pin(async move {
                        for statement in statements {
                            sqlx::Executor::execute(&mut *connection, sqlx::AssertSqlSafe(statement)).await?;
                        }
                        Ok(())
                    })
                })
        }
    };
}

/// PostgreSQL: `PgPool`, `PoolConnection<Postgres>`, `Transaction<'static, Postgres>`.
#[cfg(feature = "sqlx-postgres")]
pub mod postgres {
    sqlx_providers!(Postgres, PgPool, PgPoolOptions, "PostgreSQL",
        names: "sqlx::postgres::pool", "sqlx::postgres::connection", "sqlx::postgres::transaction", "sqlx::postgres::lazy_transaction"
    );

    /// Every provider of this module in one line, `include(PostgresProviders)` in
    /// `#[providers(..)]`: [`pool()`], [`connection()`], [`transaction()`] and
    /// [`lazy_transaction()`]. It needs a [`DatabaseSettings`] from your
    /// providers; request-scoped ones are set up only when asked for.
    #[crate::bundle(
        crate::sqlx::postgres::pool,
        crate::sqlx::postgres::connection,
        crate::sqlx::postgres::transaction,
        crate::sqlx::postgres::lazy_transaction
    )]
    pub struct PostgresProviders;
    fn install_drivers() {}

    /// The session settings of a new connection.
    fn session(_: &sqlx::PgConnection, settings: &DatabaseSettings) -> Vec<String> {
        super::postgres_session(settings)
    }
}

/// SQLite (bundled): `SqlitePool`, `PoolConnection<Sqlite>`, `Transaction<'static, Sqlite>`.
///
/// Use a URL such as `sqlite://notes.db?mode=rwc` to create the file when
/// it does not exist.
#[cfg(feature = "sqlx-sqlite")]
pub mod sqlite {
    sqlx_providers!(Sqlite, SqlitePool, SqlitePoolOptions, "SQLite",
        names: "sqlx::sqlite::pool", "sqlx::sqlite::connection", "sqlx::sqlite::transaction", "sqlx::sqlite::lazy_transaction"
    );

    /// Every provider of this module in one line, `include(SqliteProviders)` in
    /// `#[providers(..)]`: [`pool()`], [`connection()`], [`transaction()`] and
    /// [`lazy_transaction()`]. It needs a [`DatabaseSettings`] from your
    /// providers; request-scoped ones are set up only when asked for.
    #[crate::bundle(
        crate::sqlx::sqlite::pool,
        crate::sqlx::sqlite::connection,
        crate::sqlx::sqlite::transaction,
        crate::sqlx::sqlite::lazy_transaction
    )]
    pub struct SqliteProviders;
    fn install_drivers() {}

    /// The session settings of a new connection.
    fn session(_: &sqlx::SqliteConnection, settings: &DatabaseSettings) -> Vec<String> {
        super::sqlite_session(settings)
    }
}

/// The `Any` driver: PostgreSQL or SQLite, chosen at run time by the URL's
/// scheme. `AnyPool`, `PoolConnection<Any>`, `Transaction<'static, Any>`.
///
/// The pool provider installs sqlx's default drivers before connecting.
#[cfg(feature = "sqlx-any")]
pub mod any {
    sqlx_providers!(Any, AnyPool, AnyPoolOptions, "`Any` (PostgreSQL or SQLite)",
        names: "sqlx::any::pool", "sqlx::any::connection", "sqlx::any::transaction", "sqlx::any::lazy_transaction"
    );

    /// Every provider of this module in one line, `include(AnyProviders)` in
    /// `#[providers(..)]`: [`pool()`], [`connection()`], [`transaction()`] and
    /// [`lazy_transaction()`]. It needs a [`DatabaseSettings`] from your
    /// providers; request-scoped ones are set up only when asked for.
    #[crate::bundle(
        crate::sqlx::any::pool,
        crate::sqlx::any::connection,
        crate::sqlx::any::transaction,
        crate::sqlx::any::lazy_transaction
    )]
    pub struct AnyProviders;
    fn install_drivers() {
        sqlx::any::install_default_drivers();
    }

    /// The session settings of a new connection, by its backend.
    fn session(connection: &sqlx::AnyConnection, settings: &DatabaseSettings) -> Vec<String> {
        match connection.backend_name() {
            "PostgreSQL" => super::postgres_session(settings),
            "SQLite" => super::sqlite_session(settings),
            _ => Vec::new(),
        }
    }
}
