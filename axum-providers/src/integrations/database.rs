//! What every database integration shares: the pool settings you provide, and
//! the error a client sees when the database fails.

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::BoxError;

/// Pool settings, provided by you (usually from your configuration provider)
/// to the pool providers of the database integrations.
///
/// ```
/// use std::time::Duration;
/// use axum_providers::database::DatabaseSettings;
///
/// let settings = DatabaseSettings::new("postgres://postgres@127.0.0.1:5432/postgres")
///     .max_connections(16)
///     .acquire_timeout(Duration::from_secs(2));
/// assert_eq!(settings.min_connections, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// The connection URL (`postgres://..`, `sqlite://..`).
    pub url: String,
    /// The pool's size (default 10).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0; sqlx pools only).
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
///
/// - `Unavailable` (no connection within the acquire timeout: the pool is
///   exhausted or the database is unreachable) answers
///   `503 Service Unavailable` with `Retry-After: 1` and a plain-text body
///   saying so;
/// - `Conflict` (the data breaks an integrity constraint: a unique key, a
///   foreign key, a check) answers `409 Conflict`, also when the constraint
///   is checked at `COMMIT` (a deferred constraint): the built-in
///   transactions turn such a commit failure into this response;
/// - `Failed` (any other error) answers a generic `500`.
///
/// A `5xx` logs the full error with `tracing` at error level when it becomes
/// the response; no body shows more than the lines above.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_providers::database::DatabaseError;
///
/// let error = DatabaseError::unavailable(std::io::Error::other("refused"), Some(std::time::Duration::from_millis(300)));
/// let response = error.into_response();
/// assert_eq!(response.status(), 503);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DatabaseError {
    /// No connection in time, or none possible.
    Unavailable {
        /// The configured acquire timeout, when known.
        waited: Option<Duration>,
        /// What the driver or pool reported.
        source: BoxError,
    },
    /// An integrity constraint was violated (SQLSTATE class 23).
    Conflict(BoxError),
    /// Any other database error.
    Failed(BoxError),
}

impl DatabaseError {
    /// The database could not be reached within `waited`.
    pub fn unavailable(source: impl Into<BoxError>, waited: Option<Duration>) -> Self {
        Self::Unavailable { waited, source: source.into() }
    }

    /// Any other failure.
    pub fn failed(source: impl Into<BoxError>) -> Self {
        Self::Failed(source.into())
    }

    /// The data breaks an integrity constraint.
    pub fn conflict(source: impl Into<BoxError>) -> Self {
        Self::Conflict(source.into())
    }

    /// `true` for [`DatabaseError::Unavailable`].
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { waited: Some(waited), source } => {
                write!(f, "database unavailable: no connection within {waited:?} ({source})")
            }
            Self::Unavailable { waited: None, source } => write!(f, "database unavailable: {source}"),
            Self::Conflict(source) => write!(f, "database conflict: {source}"),
            Self::Failed(source) => write!(f, "database error: {source}"),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable { source, .. } | Self::Conflict(source) | Self::Failed(source) => {
                Some(&**source)
            }
        }
    }
}

impl IntoResponse for DatabaseError {
    /// The response of the failure class; a `5xx` is logged with its cause
    /// (at error level), which the body never shows.
    fn into_response(self) -> Response {
        let response = self.response();
        if response.status().is_server_error() {
            tracing::error!(status = response.status().as_u16(), "{self}");
        }
        response
    }
}

impl DatabaseError {
    fn response(&self) -> Response {
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
            Self::Conflict(_) => {
                (StatusCode::CONFLICT, "conflict: the request conflicts with data stored already\n")
                    .into_response()
            }
            Self::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response(),
        }
    }

    #[cfg(any(
        feature = "sqlx-postgres",
        feature = "sqlx-sqlite",
        feature = "sqlx-any",
        feature = "deadpool-postgres"
    ))]
    /// What a failed `COMMIT` becomes in a transaction's teardown: a conflict
    /// chooses its `409` response ([`Respond`](crate::Respond)); anything else
    /// (the commit's fate is unknown) stays an error, so the response becomes
    /// a generic `500`.
    pub(crate) fn commit_failed(self) -> BoxError {
        match self {
            Self::Conflict(_) => Box::new(crate::Respond::new(self.response(), self)),
            other => Box::new(other),
        }
    }
}
