//! Support for generated code: extractors in providers, error classification.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_providers_core::{ProviderError, Registry, Resolver};

/// What a provider may take besides `Dep<T>`, `DepMut<T>` and borrowed parts
/// of the request: an axum extractor that needs neither the router's state
/// nor the body.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither a provided value nor a request extractor",
    label = "a provider cannot take `{Self}`",
    note = "a provider takes `Dep<T>` (another provider's value: write `Dep<{Self}>`), `DepMut<T>`, a borrowed part of the request (`&HeaderMap`, `&Parts`, ..) or an axum extractor that needs neither the router's state nor the body (`Path<T>`, `Query<T>`, `HeaderMap`, ..)"
)]
pub trait ProviderParam: Sized {
    /// Runs the extractor on the request's head; its rejection as a response.
    fn extract_from(parts: &mut Parts) -> impl Future<Output = Result<Self, Response>> + Send;
}

#[diagnostic::do_not_recommend]
impl<E: FromRequestParts<()>> ProviderParam for E {
    fn extract_from(parts: &mut Parts) -> impl Future<Output = Result<Self, Response>> + Send {
        let extracted = E::from_request_parts(parts, &());
        async move { extracted.await.map_err(IntoResponse::into_response) }
    }
}

/// Runs extractor `E` on the current request for provider `provider`
/// (outside HTTP, only [`Deadline`](crate::Deadline) can be had: none).
///
/// # Errors
///
/// The extractor's rejection (as the response to send), or an error when the
/// scope was opened by hand and has no request.
pub async fn extract<E, R>(resolver: &mut Resolver<'_, R>, provider: &'static str) -> Result<E, ProviderError>
where
    E: ProviderParam + 'static,
    R: Registry,
{
    let Some(parts) = resolver.context_mut::<Parts>() else {
        // Outside HTTP there is no deadline: `Deadline` is none.
        return crate::deadline::outside_request::<E>()
            .ok_or_else(|| ProviderError::needs_request(provider, std::any::type_name::<E>()));
    };
    E::extract_from(parts)
        .await
        .map_err(|response| ProviderError::rejected(provider, std::any::type_name::<E>(), Box::new(response)))
}

/// Picks, at compile time, how a provider's error type becomes a response:
/// its own `IntoResponse` if it has one, otherwise a generic `500`; whether it
/// is kept as the source of the `ProviderError` (`Error + Send + Sync`); and
/// how it is logged: `Display` if it has one, otherwise `Debug`.
///
/// Autoref specialization: the generated code calls
/// `(&&&&&ErrorWrap(&error)).__provider_error_kind()`, and method resolution
/// picks the most specific impl that applies to the concrete error type.
pub mod error_kind {
    use std::error::Error;
    use std::fmt::{Debug, Display};

    use axum::response::{IntoResponse, Response};
    use axum_providers_core::{BoxError, ProviderError, ResponsePayload};

    /// Wraps a reference to the error for method resolution.
    pub struct ErrorWrap<'a, E>(pub &'a E);

    /// `E: IntoResponse + Error + Send + Sync`: the source, and the response.
    pub struct ResponseError;
    /// `E: IntoResponse + Display`.
    pub struct ResponseDisplay;
    /// `E: IntoResponse`.
    pub struct ResponseOnly;
    /// `E: Error + Send + Sync` (no response: `500`): the source.
    pub struct ErrorOnly;
    /// `E: Display` (no response: `500`).
    pub struct DisplayOnly;
    /// `E: Debug` (no response: `500`).
    pub struct DebugOnly;

    /// Highest priority.
    pub trait ResponseErrorKind {
        /// The tag.
        fn __provider_error_kind(self) -> ResponseError
        where
            Self: Sized,
        {
            ResponseError
        }
    }
    impl<E: IntoResponse + Error + Send + Sync + 'static> ResponseErrorKind for &&&&&&ErrorWrap<'_, E> {}

    /// Second.
    pub trait ResponseDisplayKind {
        /// The tag.
        fn __provider_error_kind(self) -> ResponseDisplay
        where
            Self: Sized,
        {
            ResponseDisplay
        }
    }
    impl<E: IntoResponse + Display> ResponseDisplayKind for &&&&&ErrorWrap<'_, E> {}

    /// Third.
    pub trait ResponseKind {
        /// The tag.
        fn __provider_error_kind(self) -> ResponseOnly
        where
            Self: Sized,
        {
            ResponseOnly
        }
    }
    impl<E: IntoResponse> ResponseKind for &&&&ErrorWrap<'_, E> {}

    /// Fourth.
    pub trait ErrorKind {
        /// The tag.
        fn __provider_error_kind(self) -> ErrorOnly
        where
            Self: Sized,
        {
            ErrorOnly
        }
    }
    impl<E: Error + Send + Sync + 'static> ErrorKind for &&&ErrorWrap<'_, E> {}

    /// Fifth.
    pub trait DisplayKind {
        /// The tag.
        fn __provider_error_kind(self) -> DisplayOnly
        where
            Self: Sized,
        {
            DisplayOnly
        }
    }
    impl<E: Display> DisplayKind for &&ErrorWrap<'_, E> {}

    /// Last.
    pub trait DebugKind {
        /// The tag.
        fn __provider_error_kind(self) -> DebugOnly
        where
            Self: Sized,
        {
            DebugOnly
        }
    }
    impl<E: Debug> DebugKind for &ErrorWrap<'_, E> {}

    /// Below the last: `E` is none of the above, which [`NotAnError`] reports.
    pub trait NotAnErrorKind {
        /// The tag.
        fn __provider_error_kind(self) -> NotAnError
        where
            Self: Sized,
        {
            NotAnError
        }
    }
    impl<E> NotAnErrorKind for ErrorWrap<'_, E> {}

    /// `E` is neither a response nor an error: building the provider error
    /// requires [`ProviderFailure`], which nothing implements, so the
    /// provider does not compile, with a message that says what `E` lacks.
    pub struct NotAnError;

    /// What a provider's error type must be (implemented by no type: the
    /// error types that qualify are dispatched before it is asked for).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the error of a provider: it is neither a response nor an error",
        label = "`{Self}` implements none of `IntoResponse`, `std::error::Error`, `Display` and `Debug`",
        note = "implement `IntoResponse` for `{Self}` to answer the request with it, or derive `Debug` (better: implement `std::error::Error`) to answer `500 Internal Server Error` and log it"
    )]
    pub trait ProviderFailure {}

    impl NotAnError {
        /// Never compiles (see [`ProviderFailure`]).
        pub fn into_provider_error<E: ProviderFailure>(
            self,
            _error: E,
            provider: &'static str,
        ) -> ProviderError {
            ProviderError::failed(provider, String::new(), None)
        }
    }

    fn respond(response: Response) -> Option<ResponsePayload> {
        Some(Box::new(response))
    }

    /// The response of a source of type `E`.
    fn respond_from<E: IntoResponse + Error + Send + Sync + 'static>(source: BoxError) -> ResponsePayload {
        match source.downcast::<E>() {
            Ok(error) => Box::new(error.into_response()),
            Err(_) => Box::new(crate::__private::internal_error_response()),
        }
    }

    impl ResponseError {
        /// Builds the provider error.
        pub fn into_provider_error<E: IntoResponse + Error + Send + Sync + 'static>(
            self,
            error: E,
            provider: &'static str,
        ) -> ProviderError {
            ProviderError::failed_with(provider, Box::new(error), Some(respond_from::<E>))
        }
    }

    impl ResponseDisplay {
        /// Builds the provider error.
        pub fn into_provider_error<E: IntoResponse + Display>(
            self,
            error: E,
            provider: &'static str,
        ) -> ProviderError {
            let message = error.to_string();
            ProviderError::failed(provider, message, respond(error.into_response()))
        }
    }

    impl ResponseOnly {
        /// Builds the provider error.
        pub fn into_provider_error<E: IntoResponse>(self, error: E, provider: &'static str) -> ProviderError {
            let message = format!("returned an error of type `{}`", std::any::type_name::<E>());
            ProviderError::failed(provider, message, respond(error.into_response()))
        }
    }

    impl ErrorOnly {
        /// Builds the provider error.
        pub fn into_provider_error<E: Error + Send + Sync + 'static>(
            self,
            error: E,
            provider: &'static str,
        ) -> ProviderError {
            ProviderError::failed_with(provider, Box::new(error), None)
        }
    }

    impl DisplayOnly {
        /// Builds the provider error.
        pub fn into_provider_error<E: Display>(self, error: E, provider: &'static str) -> ProviderError {
            ProviderError::failed(provider, error.to_string(), None)
        }
    }

    impl DebugOnly {
        /// Builds the provider error.
        pub fn into_provider_error<E: Debug>(self, error: E, provider: &'static str) -> ProviderError {
            ProviderError::failed(provider, format!("{error:?}"), None)
        }
    }
}

/// `500 Internal Server Error` with a body that reveals nothing internal.
fn internal_error_response() -> axum::response::Response {
    axum_providers_core::internal_error_response()
}

/// A part of the request a provider can borrow: `&HeaderMap`, `&Parts`,
/// `&Uri`, `&Method`, `&Version`, `&Extensions`. Borrowing copies nothing,
/// where the `HeaderMap` extractor clones every header.
#[diagnostic::on_unimplemented(
    message = "a provider cannot borrow `&{Self}` from the request",
    label = "not a part of the request",
    note = "providers can borrow `&HeaderMap`, `&Parts`, `&Uri`, `&Method`, `&Version` and `&Extensions`; take provided values as `Dep<T>` and other extractors by value"
)]
pub trait RequestHead {
    /// The part, borrowed from the request's head.
    fn borrow_from(parts: &Parts) -> &Self;
}

impl RequestHead for Parts {
    fn borrow_from(parts: &Parts) -> &Self {
        parts
    }
}

impl RequestHead for axum::http::HeaderMap {
    fn borrow_from(parts: &Parts) -> &Self {
        &parts.headers
    }
}

impl RequestHead for axum::http::Uri {
    fn borrow_from(parts: &Parts) -> &Self {
        &parts.uri
    }
}

impl RequestHead for axum::http::Method {
    fn borrow_from(parts: &Parts) -> &Self {
        &parts.method
    }
}

impl RequestHead for axum::http::Version {
    fn borrow_from(parts: &Parts) -> &Self {
        &parts.version
    }
}

impl RequestHead for axum::http::Extensions {
    fn borrow_from(parts: &Parts) -> &Self {
        &parts.extensions
    }
}

/// The request's head, for providers that borrow a part of it.
///
/// # Errors
///
/// When the scope was opened by hand and has no request.
pub fn request_parts<'a, R: Registry>(
    resolver: &'a mut Resolver<'_, R>,
    provider: &'static str,
) -> Result<&'a Parts, ProviderError> {
    match resolver.context_mut::<Parts>() {
        Some(parts) => Ok(parts),
        None => Err(ProviderError::needs_request(provider, "the request's head")),
    }
}
