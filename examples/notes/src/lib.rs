//! A small JSON API for notes, wired with providers:
//!
//! - `config` (app): settings from the environment;
//! - `database` (app): the pool settings, from `config`;
//! - `schema` (app): creates the table at startup;
//! - `current_user` (request): the user of the bearer token, or `401`;
//! - `include(axum_providers::sqlx::any::AnyProviders)`: the sqlx bundle, in
//!   one line: `pool` (app), the pool, SQLite or PostgreSQL by URL, and
//!   `transaction` (request, exclusive), committed before the response when
//!   the request succeeded, rolled back otherwise (with `connection` and
//!   `lazy_transaction`, unused here).
//!
//! Handlers ask for `Dep<User>` and `DepMut<Transaction<'static, Any>>`;
//! validation errors answer `422`, unknown notes `404`, a database that does
//! not answer `503`. Every error has a JSON body `{"error": ".."}`: a body
//! too large `413`, not JSON `415`, malformed JSON or a malformed id `400`,
//! an unknown route `404`, an unknown method `405`.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_providers::database::redact_url;
use axum_providers::prelude::*;
use axum_providers::sqlx::{DatabaseError, DatabaseSettings};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};
use sqlx::{Any, AnyPool, Row, Transaction};

/// Settings, read from the environment once, at startup; its `Debug` hides
/// the database URL's password.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://notes.db?mode=rwc` (the default) or `postgres://..`.
    pub database_url: String,
    /// `ADDR`: where to listen (default `127.0.0.1:3000`).
    pub address: String,
    /// `NOTES_TOKENS`: `token=user` pairs, comma-separated
    /// (default `alice-token=alice,bob-token=bob`).
    pub tokens: HashMap<String, String>,
    /// `DB_MAX_CONNECTIONS` (default 5).
    pub max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a connection
    /// before answering `503` (default 2000).
    pub acquire_timeout: Duration,
    /// `BODY_TIMEOUT_MS`: how long a client may take to send its request
    /// body before the request is answered `408` (default 10000).
    pub body_timeout: Duration,
}

impl Config {
    /// Reads the settings from the environment, with the defaults above.
    #[must_use]
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Self {
            database_url: var("DATABASE_URL", "sqlite://notes.db?mode=rwc"),
            address: var("ADDR", "127.0.0.1:3000"),
            tokens: parse_tokens(&var("NOTES_TOKENS", "alice-token=alice,bob-token=bob")),
            max_connections: var("DB_MAX_CONNECTIONS", "5").parse().unwrap_or(5),
            acquire_timeout: Duration::from_millis(
                var("DB_ACQUIRE_TIMEOUT_MS", "2000").parse().unwrap_or(2000),
            ),
            body_timeout: Duration::from_millis(var("BODY_TIMEOUT_MS", "10000").parse().unwrap_or(10000)),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("address", &self.address)
            .field("users", &self.tokens.len())
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("body_timeout", &self.body_timeout)
            .finish()
    }
}

/// The line printed once the app listens: where, and on which database (its
/// URL without query and password).
#[must_use]
pub fn banner(address: std::net::SocketAddr, config: &Config) -> String {
    let database = config.database_url.split('?').next().unwrap_or_default();
    format!("notes listening on http://{address} (database: {})", redact_url(database))
}

/// `a=alice,b=bob` into a token → user map (malformed pairs are skipped).
#[must_use]
pub fn parse_tokens(pairs: &str) -> HashMap<String, String> {
    pairs
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(token, user)| (token.trim().to_owned(), user.trim().to_owned()))
        .filter(|(token, user)| !token.is_empty() && !user.is_empty())
        .collect()
}

#[provider(scope = app)]
fn config() -> Config {
    Config::from_env()
}

#[provider(scope = app)]
fn database(config: Dep<Config>) -> DatabaseSettings {
    DatabaseSettings::new(&config.database_url)
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
}

/// Proof that the table exists; set up at startup, after the pool.
pub struct Schema;

#[provider(scope = app)]
async fn schema(pool: Dep<AnyPool>, config: Dep<Config>) -> Result<Schema, sqlx::Error> {
    let id = if config.database_url.starts_with("postgres") {
        "BIGSERIAL PRIMARY KEY"
    } else {
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    };
    let create = format!(
        "CREATE TABLE IF NOT EXISTS notes (id {id}, owner TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)"
    );
    sqlx::query(sqlx::AssertSqlSafe(create)).execute(&*pool).await?;
    Ok(Schema)
}

/// The authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's name.
    pub name: String,
}

#[provider]
fn current_user(headers: HeaderMap, config: Dep<Config>) -> Result<User, ApiError> {
    // `Bearer <token>`; the scheme is case-insensitive (RFC 9110, 11.1).
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .ok_or(ApiError::Unauthorized)?;
    let name = config.tokens.get(token.trim()).ok_or(ApiError::Unauthorized)?;
    Ok(User { name: name.clone() })
}

/// The providers of the notes app.
/// The database's providers (pool, connection, transactions) come in one
/// line, as the sqlx `Any` bundle.
#[providers(config, database, schema, current_user, include(axum_providers::sqlx::any::AnyProviders))]
pub struct NotesProviders;

/// A note, as stored and as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Its id.
    pub id: i64,
    /// Its title (1 to 200 characters).
    pub title: String,
    /// Its text.
    pub body: String,
}

/// A note to create.
#[derive(Debug, Deserialize)]
pub struct NewNote {
    /// The title (1 to 200 characters, not blank).
    pub title: String,
    /// The text.
    #[serde(default)]
    pub body: String,
}

/// What a request can fail with, as a JSON response.
#[derive(Debug)]
pub enum ApiError {
    /// No or unknown bearer token: `401`.
    Unauthorized,
    /// No such note for this user: `404`.
    NotFound,
    /// The input is not acceptable: `422`.
    Invalid(String),
    /// The request is not one this API answers: a body too large (`413`), not
    /// JSON (`415`) or malformed JSON (`400`), a malformed path (`400`), an
    /// unknown route (`404`), a method the route does not have (`405`).
    Request {
        /// The status to answer.
        status: StatusCode,
        /// What is wrong, for the client.
        message: String,
    },
    /// The database failed: `503` or `500`.
    Database(DatabaseError),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let message = match status {
            StatusCode::UNPROCESSABLE_ENTITY => return Self::Invalid(rejection.body_text()),
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "expected `content-type: application/json`".to_owned(),
            StatusCode::BAD_REQUEST => {
                format!("the request body is not valid JSON: {}", rejection.body_text())
            }
            _ => "the request body could not be read".to_owned(),
        };
        Self::Request { status, message }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::Request {
            status: StatusCode::BAD_REQUEST,
            message: "invalid note id: expected a whole number".to_owned(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthorized => f.write_str("missing or unknown bearer token"),
            Self::NotFound => f.write_str("note not found"),
            Self::Invalid(why) => write!(f, "invalid note: {why}"),
            Self::Request { message, .. } => f.write_str(message),
            Self::Database(error) => write!(f, "{error}"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Database(error) => return error.into_response(),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, self.to_string()),
            Self::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, self.to_string()),
            Self::Request { status, .. } => (status, self.to_string()),
        };
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type Tx = DepMut<Transaction<'static, Any>>;

/// The `{id}` of a note's path. A malformed one rejects the request with a
/// JSON `400`; as an argument before `Tx`, it does so before a connection is
/// taken (extractors run in the order of the arguments).
pub struct NoteId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for NoteId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<i64>::from_request_parts(parts, state).await?;
        Ok(Self(id))
    }
}

fn note_from(row: &sqlx::any::AnyRow) -> Result<Note, sqlx::Error> {
    Ok(Note { id: row.try_get("id")?, title: row.try_get("title")?, body: row.try_get("body")? })
}

#[handler(NotesProviders)]
async fn list(user: Dep<User>, mut tx: Tx) -> Result<Json<Vec<Note>>, ApiError> {
    let rows = sqlx::query("SELECT id, title, body FROM notes WHERE owner = $1 ORDER BY id")
        .bind(user.name.clone())
        .fetch_all(&mut **tx)
        .await?;
    Ok(Json(rows.iter().map(note_from).collect::<Result<_, _>>()?))
}

#[handler(NotesProviders)]
async fn create(
    user: Dep<User>,
    mut tx: Tx,
    note: Result<Json<NewNote>, JsonRejection>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let Json(note) = note?;
    let title = note.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::Invalid("the title must have 1 to 200 characters".to_owned()));
    }
    // PostgreSQL's text cannot hold NUL (SQLite's can): the same answer on both.
    if title.contains('\0') || note.body.contains('\0') {
        return Err(ApiError::Invalid("the title and body cannot contain NUL characters".to_owned()));
    }
    let row =
        sqlx::query("INSERT INTO notes (owner, title, body) VALUES ($1, $2, $3) RETURNING id, title, body")
            .bind(user.name.clone())
            .bind(title.to_owned())
            .bind(note.body)
            .fetch_one(&mut **tx)
            .await?;
    Ok((StatusCode::CREATED, Json(note_from(&row)?)))
}

#[handler(NotesProviders)]
async fn show(user: Dep<User>, NoteId(id): NoteId, mut tx: Tx) -> Result<Json<Note>, ApiError> {
    let row = sqlx::query("SELECT id, title, body FROM notes WHERE id = $1 AND owner = $2")
        .bind(id)
        .bind(user.name.clone())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(note_from(&row)?))
}

#[handler(NotesProviders)]
async fn delete(user: Dep<User>, NoteId(id): NoteId, mut tx: Tx) -> Result<StatusCode, ApiError> {
    let deleted = sqlx::query("DELETE FROM notes WHERE id = $1 AND owner = $2")
        .bind(id)
        .bind(user.name.clone())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if deleted == 0 { Err(ApiError::NotFound) } else { Ok(StatusCode::NO_CONTENT) }
}

async fn health() -> &'static str {
    "ok"
}

async fn no_route() -> ApiError {
    ApiError::Request { status: StatusCode::NOT_FOUND, message: "not found".to_owned() }
}

async fn no_method() -> ApiError {
    ApiError::Request { status: StatusCode::METHOD_NOT_ALLOWED, message: "method not allowed".to_owned() }
}

/// The largest request body (axum's default limit of the `Json` extractor).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Reads the whole request body before any extractor runs, and so before a
/// handler's transaction takes a connection: a client that sends its headers
/// and then nothing (or very slowly) holds no connection; it is answered
/// `408` after the body timeout.
async fn read_body_first(app: App<NotesProviders>, request: Request, next: Next) -> Response {
    let timeout = match app.get::<Config>().await {
        Ok(config) => config.body_timeout,
        Err(_) => Duration::from_secs(10),
    };
    let (parts, body) = request.into_parts();
    let read = http_body_util::Limited::new(body, BODY_LIMIT).collect();
    let bytes = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            let message = "the request body is too large".to_owned();
            return ApiError::Request { status: StatusCode::PAYLOAD_TOO_LARGE, message }.into_response();
        }
        Ok(Err(_)) => {
            let message = "the request body could not be read".to_owned();
            return ApiError::Request { status: StatusCode::BAD_REQUEST, message }.into_response();
        }
        Err(_) => {
            let message = "the request body did not arrive in time".to_owned();
            return ApiError::Request { status: StatusCode::REQUEST_TIMEOUT, message }.into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The app's routes, given the app container. Every error answers a JSON
/// body `{"error": ".."}`, unknown routes and methods included. The request
/// body is read in full (within `BODY_TIMEOUT_MS`) before a handler runs.
pub fn router(app: &App<NotesProviders>) -> Router {
    let container = app.clone();
    Router::new()
        .route("/health", get(health))
        .route("/notes", get(list).post(create))
        .route("/notes/{id}", get(show).delete(delete))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .with_providers(app)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            read_body_first(container.clone(), request, next)
        }))
}

#[cfg(test)]
mod tests {
    use super::parse_tokens;

    #[test]
    fn tokens_are_parsed_and_malformed_pairs_skipped() {
        let tokens = parse_tokens("a=alice, b = bob,broken,=nobody,c=");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens["a"], "alice");
        assert_eq!(tokens["b"], "bob");
    }
}
