//! What every database integration shares: the pool settings you provide, and
//! the error a client sees when the database fails.

use std::borrow::Cow;
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
///
/// Its `Debug` shows the URL without its password ([`redact_url`]).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// The connection URL (`postgres://..`, `sqlite://..`).
    pub url: String,
    /// The pool's size (default 10).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0; sqlx pools only).
    pub min_connections: u32,
    /// How long a request waits for a connection before answering `503`
    /// (default 5 s); for SQLite also the busy timeout, how long a statement
    /// waits for a file locked by another connection.
    pub acquire_timeout: Duration,
    /// How long one statement may run before the database cancels it
    /// (default 30 s; `None`: the server's own setting). Applied to every new
    /// connection of the PostgreSQL pools (sqlx: `SET statement_timeout`;
    /// deadpool: the `statement_timeout` startup option); SQLite has none.
    /// A statement cancelled by it answers `503` (see [`DatabaseError`]) and
    /// the request's transaction rolls back. A request with a deadline
    /// ([`Deadline`](crate::Deadline)) caps it, for its transaction, at the
    /// time left when the transaction begins.
    pub statement_timeout: Option<Duration>,
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
            statement_timeout: Some(Duration::from_secs(30)),
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

    /// Sets how long one statement may run (`None`: the server's setting).
    #[must_use]
    pub fn statement_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.statement_timeout = timeout.into();
        self
    }

    /// The statement timeout in whole milliseconds, at least 1 (PostgreSQL
    /// reads `0` as "no timeout").
    #[cfg(any(feature = "sqlx-postgres", feature = "sqlx-any", feature = "deadpool-postgres"))]
    pub(crate) fn statement_timeout_ms(&self) -> Option<u128> {
        self.statement_timeout.map(|timeout| timeout.as_millis().max(1))
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { url, max_connections, min_connections, acquire_timeout, statement_timeout } = self;
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(url))
            .field("max_connections", max_connections)
            .field("min_connections", min_connections)
            .field("acquire_timeout", acquire_timeout)
            .field("statement_timeout", statement_timeout)
            .finish()
    }
}

/// The password of a connection URL replaced by `***`, for banners, logs and
/// `Debug`: the password of the user part (`postgres://app:***@db/notes`),
/// and the value of a `password` or `sslpassword` parameter, in a URL's query
/// or in a `key=value` connection string (`host=db password=***`).
///
/// ```
/// use axum_providers::database::redact_url;
///
/// assert_eq!(redact_url("postgres://app:S3cret@db:5432/notes"), "postgres://app:***@db:5432/notes");
/// assert_eq!(redact_url("sqlite://notes.db?mode=rwc"), "sqlite://notes.db?mode=rwc");
/// ```
#[must_use]
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let redacted = match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let authority = match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            let path = match path.split_once('?') {
                Some((path, query)) => {
                    let query = query
                        .split('&')
                        .map(|pair| match pair.split_once('=') {
                            Some((key, _)) if is_password_key(key) => Cow::Owned(format!("{key}=***")),
                            _ => Cow::Borrowed(pair),
                        })
                        .collect::<Vec<_>>()
                        .join("&");
                    format!("{path}?{query}")
                }
                None => path.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => redact_key_values(url),
    };
    if redacted == url { Cow::Borrowed(url) } else { Cow::Owned(redacted) }
}

fn is_password_key(key: &str) -> bool {
    key.trim().eq_ignore_ascii_case("password") || key.trim().eq_ignore_ascii_case("sslpassword")
}

/// `host=db password='a b'` → `host=db password=***` (libpq's `key=value`
/// connection strings; a quoted value may hold spaces and `\'`).
fn redact_key_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        let (before, after) = rest.split_at(at);
        let key = before.rsplit(char::is_whitespace).next().unwrap_or_default();
        out.push_str(before);
        out.push('=');
        let after = &after[1..];
        let value_end = if after.starts_with('\'') {
            let mut escaped = false;
            after
                .char_indices()
                .skip(1)
                .find(|&(_, c)| {
                    let end = c == '\'' && !escaped;
                    escaped = c == '\\' && !escaped;
                    end
                })
                .map_or(after.len(), |(index, _)| index + 1)
        } else {
            after.find(char::is_whitespace).unwrap_or(after.len())
        };
        let (value, tail) = after.split_at(value_end);
        out.push_str(if is_password_key(key) { "***" } else { value });
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// A database failure, as the response a client gets.
///
/// | variant | when | response |
/// |---|---|---|
/// | `Unavailable` | no connection within the acquire timeout (the pool is exhausted or the database unreachable); the connection was lost during the request (SQLSTATE class `08`, `57P01` administrator shutdown, `57P02` crash shutdown, `57P03` cannot connect now) | `503 Service Unavailable`, `Retry-After: 1`, a plain-text body saying so |
/// | `TimedOut` | a statement ran longer than [`DatabaseSettings::statement_timeout`] and the database cancelled it (`57014`); an SQLite file stayed locked by another connection for the whole busy timeout, which is the acquire timeout (`SQLITE_BUSY`, `SQLITE_LOCKED`) | `503 Service Unavailable`, `Retry-After: 1`, `service unavailable: the database did not answer in time; try again shortly` |
/// | `Contention` | the transaction lost a race with another one: a serialization failure (`40001`) or a deadlock (`40P01`); it was rolled back and the same request may well succeed again | `409 Conflict`, `Retry-After: 1`, `conflict: a concurrent request changed the same data; try again` |
/// | `Conflict` | the data breaks an integrity constraint (a unique key, a foreign key, a check; SQLSTATE class `23`) | `409 Conflict`, `conflict: the request conflicts with data stored already` |
/// | `Failed` | any other error | a generic `500` |
///
/// `Conflict` and `Contention` are answered also when they happen at
/// `COMMIT` (a deferred constraint, a serializable transaction): the built-in
/// transactions turn such a commit failure into this response. Any other
/// failing `COMMIT`, a lost connection included, answers `500`: whether the
/// data was stored is unknown, so the client is not told to try again.
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
    /// A serialization failure or a deadlock (SQLSTATE `40001`, `40P01`):
    /// retrying the request may succeed.
    Contention(BoxError),
    /// A statement ran longer than the statement timeout and was cancelled
    /// (SQLSTATE `57014`), or an SQLite file stayed locked for the whole busy
    /// timeout (`SQLITE_BUSY`, `SQLITE_LOCKED`).
    TimedOut(BoxError),
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

    /// The transaction lost a race with another one (a serialization
    /// failure, a deadlock).
    pub fn contention(source: impl Into<BoxError>) -> Self {
        Self::Contention(source.into())
    }

    /// `true` for [`DatabaseError::Unavailable`].
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// An error and its causes, `error: cause: cause` (a cause whose text its
/// error shows already is left out): drivers often keep the useful part,
/// such as "connection refused", in a cause.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            cause = error.source();
        }
        Ok(())
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { waited: Some(waited), source } => {
                write!(f, "database unavailable: no connection within {waited:?} ({})", Chain(&**source))
            }
            Self::Unavailable { waited: None, source } => {
                write!(f, "database unavailable: {}", Chain(&**source))
            }
            Self::Conflict(source) => write!(f, "database conflict: {}", Chain(&**source)),
            Self::Contention(source) => write!(f, "database contention: {}", Chain(&**source)),
            Self::TimedOut(source) => write!(f, "database statement timed out: {}", Chain(&**source)),
            Self::Failed(source) => write!(f, "database error: {}", Chain(&**source)),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable { source, .. }
            | Self::Conflict(source)
            | Self::Contention(source)
            | Self::TimedOut(source)
            | Self::Failed(source) => Some(&**source),
        }
    }
}

impl IntoResponse for DatabaseError {
    /// The response of the failure class; a `5xx` is logged with its cause
    /// (at error level), which the body never shows.
    fn into_response(self) -> Response {
        let mut response = self.response();
        if response.status().is_server_error() {
            tracing::error!(status = response.status().as_u16(), "{self}");
            // A provider's rejection does not log it a second time.
            response.extensions_mut().insert(crate::CauseLogged);
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
                unavailable(body)
            }
            Self::TimedOut(_) => unavailable(
                "service unavailable: the database did not answer in time; try again shortly\n".to_owned(),
            ),
            Self::Conflict(_) => {
                (StatusCode::CONFLICT, "conflict: the request conflicts with data stored already\n")
                    .into_response()
            }
            Self::Contention(_) => {
                let body = "conflict: a concurrent request changed the same data; try again\n";
                let mut response = (StatusCode::CONFLICT, body).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
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
    /// or a contention (the transaction was rolled back) chooses its `409`
    /// response ([`Respond`](crate::Respond)); anything else (the commit's
    /// fate is unknown) stays an error, so the response becomes a generic
    /// `500`.
    pub(crate) fn commit_failed(self) -> BoxError {
        match self {
            Self::Conflict(_) | Self::Contention(_) => Box::new(crate::Respond::new(self.response(), self)),
            other => Box::new(other),
        }
    }

    #[cfg(any(
        feature = "sqlx-postgres",
        feature = "sqlx-sqlite",
        feature = "sqlx-any",
        feature = "deadpool-postgres"
    ))]
    /// The class of a PostgreSQL error by its SQLSTATE (five characters),
    /// `None` for the codes that are no class of their own (and for the
    /// numeric codes of SQLite).
    pub(crate) fn class_of_sqlstate(code: &str) -> Option<fn(BoxError) -> Self> {
        if code.len() != 5 {
            return None;
        }
        Some(match code {
            "57P01" | "57P02" | "57P03" => |source| Self::unavailable(source, None),
            _ if code.starts_with("08") => |source| Self::unavailable(source, None),
            "40001" | "40P01" => Self::Contention,
            "57014" => Self::TimedOut,
            _ if code.starts_with("23") => Self::Conflict,
            _ => return None,
        })
    }
}

/// The statement that caps PostgreSQL's `statement_timeout` at `remaining`
/// for the rest of the current transaction (`set_config(.., true)` is `SET
/// LOCAL`): the server's setting when it is shorter (and not `0`, no
/// timeout), `remaining` otherwise. Computed by the server, which knows the
/// session's setting.
#[cfg(any(
    feature = "sqlx-postgres",
    feature = "sqlx-sqlite",
    feature = "sqlx-any",
    feature = "deadpool-postgres"
))]
pub(crate) fn cap_statement_timeout(remaining: Duration) -> String {
    let ms = remaining.as_millis().max(1);
    format!(
        "SELECT set_config('statement_timeout', CASE WHEN current_setting('statement_timeout')::interval \
         BETWEEN interval '1 microsecond' AND interval '{ms} milliseconds' \
         THEN current_setting('statement_timeout') ELSE '{ms}ms' END, true)"
    )
}

/// `503 Service Unavailable` with `Retry-After: 1` and `body`.
fn unavailable(body: String) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    use super::{DatabaseSettings, redact_url};

    #[test]
    fn passwords_are_redacted_wherever_a_url_keeps_them() {
        for (url, redacted) in [
            (
                "postgres://postgres:S3cret@127.0.0.1/notes?sslmode=disable",
                "postgres://postgres:***@127.0.0.1/notes?sslmode=disable",
            ),
            ("postgres://app:p@ss:w@rd@db:5432", "postgres://app:***@db:5432"),
            (
                "postgres://app@db/notes?password=S3cret&application_name=x",
                "postgres://app@db/notes?password=***&application_name=x",
            ),
            ("redis://:S3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
            ("host=db user=app password=S3cret dbname=notes", "host=db user=app password=*** dbname=notes"),
            ("host=db password='S3 \\'cret' dbname=notes", "host=db password=*** dbname=notes"),
            ("sqlite://notes.db?mode=rwc", "sqlite://notes.db?mode=rwc"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn the_debug_of_settings_has_no_password() {
        let settings = DatabaseSettings::new("postgres://postgres:S3cret@127.0.0.1/notes");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("S3cret"), "{debug}");
        assert!(debug.contains("postgres://postgres:***@127.0.0.1/notes"), "{debug}");
    }
}
