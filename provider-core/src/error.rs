//! Errors of setup, resolution, build and teardown.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;

/// A boxed error, as returned by a failing teardown.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A response produced by the web framework, kept opaque by this crate.
///
/// The axum integration stores an `axum::response::Response` here; this crate
/// never looks inside.
pub type ResponsePayload = Box<dyn Any + Send>;

/// Why a value could not be provided.
///
/// Carries the name of the provider that failed and, for HTTP, the response to
/// send (the provider's error turned into a response, or an extractor's
/// rejection). Its `Display` is meant for logs: it may contain internal details
/// and is never sent to a client. When the provider's error type implements
/// `std::error::Error + Send + Sync`, it is this error's
/// [`source`](StdError::source). `Send + Sync + 'static`: `?` turns it into a
/// `Box<dyn Error + Send + Sync>` or an `anyhow::Error`.
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct Report;
///
/// #[provider]
/// async fn report() -> Result<Report, std::io::Error> {
///     Err(std::io::Error::other("disk full"))
/// }
///
/// #[providers(report)]
/// struct AppProviders;
///
/// async fn job(app: &App<AppProviders>) -> anyhow::Result<()> {
///     let mut scope = app.scope();
///     let _report = scope.get::<Report>().await?; // a `ProviderError`
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let Err(error) = job(&app).await else { panic!("the provider fails") };
/// assert_eq!(error.to_string(), "provider `report` failed: disk full");
/// assert_eq!(error.root_cause().to_string(), "disk full"); // the provider's own error, as the source
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct ProviderError {
    provider: &'static str,
    kind: ErrorKind,
    source: Option<BoxError>,
    response: Option<Response>,
}

/// The response a failure answers with: made already, or made from the
/// error itself when it is asked for (so that the error stays the source
/// until then).
enum Response {
    Ready(std::sync::Mutex<ResponsePayload>),
    FromSource(fn(BoxError) -> ResponsePayload),
}

#[derive(Debug)]
enum ErrorKind {
    Failed(String),
    Rejected { extractor: &'static str },
    Exclusive { type_name: &'static str },
    NeedsRequest { extractor: &'static str },
    Internal(&'static str),
}

impl ProviderError {
    fn new(provider: &'static str, kind: ErrorKind, response: Option<ResponsePayload>) -> Self {
        let response = response.map(|payload| Response::Ready(std::sync::Mutex::new(payload)));
        Self { provider, kind, source: None, response }
    }

    /// The provider's own error (its function returned `Err`), known by its
    /// message.
    #[doc(hidden)]
    #[must_use]
    pub fn failed(provider: &'static str, message: String, response: Option<ResponsePayload>) -> Self {
        Self::new(provider, ErrorKind::Failed(message), response)
    }

    /// The provider's own error, kept as the source; `respond` makes the
    /// response from it when one is asked for.
    #[doc(hidden)]
    #[must_use]
    pub fn failed_with(
        provider: &'static str,
        error: BoxError,
        respond: Option<fn(BoxError) -> ResponsePayload>,
    ) -> Self {
        Self {
            provider,
            kind: ErrorKind::Failed(error.to_string()),
            source: Some(error),
            response: respond.map(Response::FromSource),
        }
    }

    /// An extractor used by the provider rejected the request.
    #[doc(hidden)]
    #[must_use]
    pub fn rejected(provider: &'static str, extractor: &'static str, response: ResponsePayload) -> Self {
        Self::new(provider, ErrorKind::Rejected { extractor }, Some(response))
    }

    /// The provider needs the HTTP request but runs in a scope opened by hand.
    #[doc(hidden)]
    #[must_use]
    pub fn needs_request(provider: &'static str, extractor: &'static str) -> Self {
        Self::new(provider, ErrorKind::NeedsRequest { extractor }, None)
    }

    pub(crate) fn exclusive(provider: &'static str, type_name: &'static str) -> Self {
        Self::new(provider, ErrorKind::Exclusive { type_name }, None)
    }

    pub(crate) fn internal(provider: &'static str, what: &'static str) -> Self {
        Self::new(provider, ErrorKind::Internal(what), None)
    }

    /// The name of the provider that failed (the name of its function).
    #[must_use]
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// `true` when an exclusive value was asked for while a `DepMut` of it
    /// was alive.
    #[must_use]
    pub fn is_exclusive_conflict(&self) -> bool {
        matches!(self.kind, ErrorKind::Exclusive { .. })
    }

    /// `true` when the failure came from the provider's own code or one of its
    /// extractors (as opposed to a wiring problem).
    #[must_use]
    pub fn is_setup_failure(&self) -> bool {
        matches!(self.kind, ErrorKind::Failed(_) | ErrorKind::Rejected { .. })
    }

    /// Takes the response that should be sent for this error, if the provider
    /// produced one. (An error that makes its response from itself is no
    /// longer the source afterwards.)
    #[doc(hidden)]
    pub fn take_response(&mut self) -> Option<ResponsePayload> {
        match self.response.take()? {
            Response::Ready(payload) => {
                Some(payload.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner))
            }
            Response::FromSource(respond) => self.source.take().map(respond),
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let provider = self.provider;
        match &self.kind {
            ErrorKind::Failed(message) => write!(f, "provider `{provider}` failed: {message}"),
            ErrorKind::Rejected { extractor } => {
                write!(f, "provider `{provider}`: extractor `{extractor}` rejected the request")
            }
            ErrorKind::Exclusive { type_name } => write!(
                f,
                "`{type_name}` (provider `{provider}`) is already borrowed in this scope: \
                 an exclusive value goes to one `DepMut<{type_name}>` at a time, so ask for it \
                 once and drop it before asking again"
            ),
            ErrorKind::NeedsRequest { extractor } => write!(
                f,
                "provider `{provider}` needs the HTTP request (extractor `{extractor}`) \
                 and cannot run in a scope opened by hand"
            ),
            ErrorKind::Internal(what) => write!(f, "provider `{provider}`: {what}"),
        }
    }
}

impl fmt::Debug for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderError")
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .field("source", &self.source)
            .field("has_response", &self.response.is_some())
            .finish()
    }
}

impl StdError for ProviderError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn StdError + 'static))
    }
}

/// An app-scoped provider failed while the app container was being built.
///
/// Its message names the provider; its [`source`](StdError::source) is the
/// [`ProviderError`], whose source is the provider's own error.
/// `Send + Sync + 'static`: `build().await?` goes into a
/// `Box<dyn Error + Send + Sync>` or an `anyhow::Error`.
///
/// ```
/// use axum_providers::prelude::*;
/// use axum_providers::BuildError;
///
/// pub struct Pool;
///
/// #[provider(scope = app)]
/// async fn pool() -> Result<Pool, std::io::Error> {
///     Err(std::io::Error::other("connection refused"))
/// }
///
/// #[providers(pool)]
/// struct AppProviders;
///
/// async fn start() -> Result<App<AppProviders>, Box<dyn std::error::Error + Send + Sync>> {
///     Ok(App::<AppProviders>::builder().build().await?)
/// }
///
/// async fn start_with_anyhow() -> anyhow::Result<App<AppProviders>> {
///     Ok(App::<AppProviders>::builder().build().await?)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let Err(error) = start().await else { panic!("`pool` fails") };
/// assert_eq!(error.to_string(), "app startup failed: provider `pool` failed: connection refused");
///
/// let Err(error) = start_with_anyhow().await else { panic!("`pool` fails") };
/// assert_eq!(error.downcast_ref::<BuildError>().map(BuildError::provider), Some("pool"));
/// assert_eq!(error.chain().count(), 3); // BuildError, ProviderError, io::Error
/// # }
/// ```
///
/// Its `Debug` is its `Display`, one line naming the provider and the cause
/// (what `fn main() -> Result<(), Box<dyn Error>>` prints after `Error: `);
/// `{:#?}` shows the fields.
pub struct BuildError {
    pub(crate) source: ProviderError,
    pub(crate) teardown: Option<TeardownErrors>,
}

impl BuildError {
    /// The name of the app-scoped provider that failed.
    #[must_use]
    pub fn provider(&self) -> &'static str {
        self.source.provider()
    }

    /// Teardown failures of the app-scoped values that had been set up before the
    /// failure (they are torn down, in reverse order, before `build` returns).
    #[must_use]
    pub fn teardown_errors(&self) -> Option<&TeardownErrors> {
        self.teardown.as_ref()
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app startup failed: {}", self.source)
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("BuildError")
                .field("source", &self.source)
                .field("teardown", &self.teardown)
                .finish();
        }
        write!(f, "{self}")?;
        match &self.teardown {
            Some(teardown) => write!(f, "; then {teardown}"),
            None => Ok(()),
        }
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// A teardown error that chooses the response: return it (boxed, with `?`
/// or `.into()`) from a teardown that runs before the response, and the
/// client gets this response instead of the handler's success.
///
/// A commit that fails on a constraint can answer `409 Conflict` this way
/// rather than a generic `500`; the teardowns that run after it see
/// [`Outcome::ErrorResponse`](crate::Outcome::ErrorResponse) with this
/// status. The response is used only when the request had succeeded so far
/// and the teardown runs before the response; otherwise (an error response
/// already, an after-response teardown, a scope opened by hand) it is logged
/// like any teardown error.
///
/// ```
/// use axum::http::StatusCode;
/// use axum_providers::prelude::*;
/// use axum_providers::{BoxError, Respond};
///
/// pub struct Order;
/// impl Order {
///     async fn commit(self) -> Result<(), std::io::Error> {
///         Err(std::io::Error::other("duplicate key value violates unique constraint"))
///     }
/// }
///
/// #[provider(exclusive)]
/// fn order() -> Teardown<Order> {
///     Teardown::new(Order, |order, outcome: Outcome| async move {
///         if !outcome.is_success() {
///             return Ok(());
///         }
///         order.commit().await.map_err(|error| -> BoxError {
///             Respond::new((StatusCode::CONFLICT, "this order exists already"), error).into()
///         })
///     })
/// }
/// # fn main() {}
/// ```
pub struct Respond {
    status: u16,
    response: std::sync::Mutex<Option<ResponsePayload>>,
    source: BoxError,
}

impl Respond {
    /// Answers with `response` because of `source` (which is logged, never sent).
    #[cfg(feature = "axum")]
    pub fn new(response: impl axum_core::response::IntoResponse, source: impl Into<BoxError>) -> Self {
        let response = response.into_response();
        Self::with_payload(response.status().as_u16(), Box::new(response), source)
    }

    /// A response of another web framework, kept opaque, with its status.
    #[must_use]
    pub fn with_payload(status: u16, response: ResponsePayload, source: impl Into<BoxError>) -> Self {
        Self { status, response: std::sync::Mutex::new(Some(response)), source: source.into() }
    }

    /// The status code of the response.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Takes the response out (once).
    pub(crate) fn take_response(&self) -> Option<ResponsePayload> {
        self.response.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

impl fmt::Debug for Respond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Respond").field("status", &self.status).field("source", &self.source).finish()
    }
}

impl fmt::Display for Respond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (answered with status {})", self.source, self.status)
    }
}

impl StdError for Respond {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// One failed teardown.
#[derive(Debug)]
pub struct TeardownError {
    /// The provider whose teardown failed.
    pub provider: &'static str,
    /// What it returned.
    pub error: BoxError,
}

impl TeardownError {
    /// The response the failure chose ([`Respond`]), with its status; taken once.
    pub(crate) fn take_response(&self) -> Option<(u16, Option<ResponsePayload>)> {
        let respond = self.error.downcast_ref::<Respond>()?;
        Some((respond.status(), respond.take_response()))
    }
}

impl StdError for TeardownError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.error)
    }
}

impl fmt::Display for TeardownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "teardown of `{}` failed: {}", self.provider, self.error)
    }
}

/// Every teardown failure of one scope, collected after all teardowns ran.
#[derive(Debug)]
pub struct TeardownErrors {
    pub(crate) errors: Vec<TeardownError>,
}

impl TeardownErrors {
    /// `Err` (logged together, with the provider names) when any teardown failed.
    pub(crate) fn report(errors: Vec<TeardownError>) -> Result<(), Self> {
        if errors.is_empty() {
            return Ok(());
        }
        let errors = Self { errors };
        let providers: Vec<_> = errors.errors.iter().map(|e| e.provider).collect();
        tracing::error!(?providers, "{errors}");
        Err(errors)
    }

    /// The failures, in the order the teardowns ran (reverse order of setup).
    #[must_use]
    pub fn errors(&self) -> &[TeardownError] {
        &self.errors
    }
}

impl fmt::Display for TeardownErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} teardown(s) failed", self.errors.len())?;
        for (i, error) in self.errors.iter().enumerate() {
            write!(f, "{}{error}", if i == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

impl StdError for TeardownErrors {
    /// The first failure.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.errors.first().map(|error| error as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync_error<E: StdError + Send + Sync + 'static>() {}

    #[test]
    fn every_error_is_send_sync_and_static() {
        send_sync_error::<ProviderError>();
        send_sync_error::<BuildError>();
        send_sync_error::<TeardownError>();
        send_sync_error::<TeardownErrors>();
        send_sync_error::<Respond>();
    }

    #[test]
    fn a_provider_error_keeps_its_source_until_it_becomes_the_response() {
        let source: BoxError = Box::new(std::io::Error::other("refused"));
        let respond: fn(BoxError) -> ResponsePayload = |error| Box::new(error.to_string());
        let mut error = ProviderError::failed_with("pool", source, Some(respond));
        let io = error.source().and_then(|source| source.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(ToString::to_string).as_deref(), Some("refused"));
        assert_eq!(error.to_string(), "provider `pool` failed: refused");
        let response = error.take_response().and_then(|payload| payload.downcast::<String>().ok());
        assert_eq!(response.as_deref().map(String::as_str), Some("refused"));
    }
}
