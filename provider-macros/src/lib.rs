//! Attribute macros of `axum-providers`. Use them through the `axum-providers`
//! facade, whose documentation has the guide; the generated code reaches the
//! runtime through `::axum_providers` (or the path given with `crate = ...`).

mod diagnostics;
mod handler;
mod provider;
mod providers;

use proc_macro::TokenStream;

/// Turns a function into a provider of the type it returns.
///
/// ```ignore
/// #[provider(scope = app)]
/// async fn pool(config: Dep<Config>) -> Result<Teardown<PgPool>, sqlx::Error> { .. }
///
/// #[provider] // request scope is the default
/// async fn current_user(header: TypedHeader<Authorization<Bearer>>, pool: Dep<PgPool>)
///     -> Result<User, AuthError> { .. }
/// ```
///
/// - Returns `T`, `Result<T, E>`, `Teardown<T>` or `Result<Teardown<T>, E>`;
///   consumers receive `T`.
/// - Parameters: `Dep<T>` and `DepMut<T>` for other provided types; for
///   request-scoped and transient providers, any axum `FromRequestParts`
///   extractor (its rejection becomes the response).
/// - Arguments: `scope = app | request | transient` (default `request`),
///   `crate = "path"` when the facade is renamed.
///
/// The function stays as written (call it directly in unit tests); a marker
/// type with the same name is generated next to it, to be listed in
/// `#[providers(..)]`.
#[proc_macro_attribute]
pub fn provider(args: TokenStream, input: TokenStream) -> TokenStream {
    provider::provider(args.into(), input.into()).into()
}

/// Names the providers of an app, on a unit struct: `#[providers(config, pool, tx)] pub struct AppProviders;`.
///
/// Checked at compile time: every dependency of every listed provider is listed
/// and lives long enough, no two providers produce the same type, and there is
/// no dependency cycle.
#[proc_macro_attribute]
pub fn providers(args: TokenStream, input: TokenStream) -> TokenStream {
    providers::providers(args.into(), input.into()).into()
}

/// Checks a handler's `Dep<T>` and `DepMut<T>` arguments against the app's
/// providers, reporting a missing provider at the argument:
/// `#[handler(AppProviders)] async fn show(user: Dep<User>) -> .. { .. }`.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, input: TokenStream) -> TokenStream {
    handler::handler(args.into(), input.into()).into()
}
