//! Serving with graceful shutdown, then app teardown.

use std::fmt;
use std::future::Future;

use axum::Router;
use axum_providers_core::{App, Registry, TeardownErrors};
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` resolves, lets in-flight
/// requests finish (their request scopes close), then shuts `app` down: its
/// app-scoped values are torn down in reverse order of setup.
///
/// # Errors
///
/// The server's I/O error, or the app-scoped teardowns that failed.
pub async fn serve<R, F>(
    listener: TcpListener,
    router: Router,
    app: App<R>,
    shutdown: F,
) -> Result<(), ServeError>
where
    R: Registry,
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await.map_err(ServeError::Io)?;
    tracing::debug!("server drained; shutting the app container down");
    app.shutdown().await.map_err(ServeError::Teardown)
}

/// What [`serve`] can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The server failed.
    Io(std::io::Error),
    /// The server stopped cleanly but some app-scoped teardowns failed.
    Teardown(TeardownErrors),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "server error: {error}"),
            Self::Teardown(errors) => write!(f, "app shutdown: {errors}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            Self::Teardown(errors) => Some(errors),
        }
    }
}
