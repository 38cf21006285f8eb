//! How a scope ended, as seen by teardown.

use std::fmt;

/// How the scope that owned a value ended; passed to every teardown.
///
/// For a request scope the outcome is decided *after* the handler's error was
/// turned into a response, so a handler that returns `Err(e)` where `e`
/// becomes a `404` is seen here as `ErrorResponse { status: 404 }`.
///
/// ```
/// use axum_providers::Outcome;
///
/// assert!(Outcome::Success.is_success());
/// assert!(!Outcome::ErrorResponse { status: 422 }.is_success());
/// assert_eq!(Outcome::from_status(204), Outcome::Success);
/// assert_eq!(Outcome::from_status(500), Outcome::ErrorResponse { status: 500 });
/// assert!(!Outcome::TimedOut.is_success()); // a transaction rolls back
/// assert_eq!(Outcome::TimedOut.to_string(), "timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The response was a success (`1xx`, `2xx` or `3xx`) and the client got all
    /// of it, or a scope opened by hand was closed as a success.
    Success,
    /// The response was an error (`4xx` or `5xx`) with this status code.
    ErrorResponse {
        /// The HTTP status code of the response.
        status: u16,
    },
    /// A provider failed during setup in this scope, so the request never reached
    /// its handler (or the handler's extractor failed).
    SetupFailed,
    /// The handler panicked.
    Panicked,
    /// The scope was abandoned before it finished: the client went away (the
    /// handler future was dropped, or a streaming body or a WebSocket was cut
    /// before its end), a shutdown's deadline cut the request, or a
    /// hand-opened scope was dropped unclosed.
    Cancelled,
    /// The request ran out of time: its deadline (an app-wide
    /// `request_deadline`, or a `RequestDeadline` layer on its route) passed
    /// before its response was ready. Setup and handler were cancelled (their
    /// future dropped) and the client got the deadline's `503`; the values
    /// set up before are torn down with this outcome, before that response.
    TimedOut,
    /// Work outside HTTP failed: a job closes its scope with it (see
    /// [`Scope::close`](crate::Scope::close)), and a teardown that fails while
    /// a hand-opened scope closes as a success turns the outcome of the
    /// teardowns after it into this one.
    Failed,
    /// The app container is shutting down (the outcome of app-scoped teardown).
    Shutdown,
}

impl Outcome {
    /// The outcome of a response with this status code.
    #[must_use]
    pub const fn from_status(status: u16) -> Self {
        if status < 400 { Self::Success } else { Self::ErrorResponse { status } }
    }

    /// `true` only for [`Outcome::Success`]: commit on this, roll back on anything else.
    #[must_use]
    pub const fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success => f.write_str("success"),
            Self::ErrorResponse { status } => write!(f, "error response ({status})"),
            Self::SetupFailed => f.write_str("setup failed"),
            Self::Panicked => f.write_str("panicked"),
            Self::Cancelled => f.write_str("cancelled"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::Failed => f.write_str("failed"),
        }
    }
}
