//! Typed dependency injection for axum: `#[provider]` functions with setup and
//! teardown, requested by type in handlers, with scopes (app, request,
//! transient) and wiring checked at compile time.
//!
//! This facade is the one dependency to add; it re-exports the macros, the
//! runtime and the axum glue, and the macros' generated code resolves through
//! it. The README has the quick start; it is compiled as a doc test of this
//! crate.
//!
//! ```
//! use axum::{Router, routing::get};
//! use axum_providers::prelude::*;
//!
//! #[derive(Clone)]
//! pub struct Greeting(String);
//!
//! #[provider(scope = app)]
//! fn greeting() -> Greeting {
//!     Greeting("hello".to_owned())
//! }
//!
//! #[provider]
//! async fn shout(greeting: Dep<Greeting>) -> String {
//!     greeting.0.to_uppercase()
//! }
//!
//! #[providers(greeting, shout)]
//! pub struct AppProviders;
//!
//! #[handler(AppProviders)]
//! async fn hello(text: Dep<String>) -> String {
//!     format!("{}!", *text)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = App::<AppProviders>::builder().build().await?;
//! let router: Router = Router::new().route("/", get(hello)).with_providers(&app);
//! # drop(router);
//! # app.shutdown().await?;
//! # Ok(()) }
//! ```

pub use axum_providers_axum::{
    Deadline, ProvidersLayer, RequestDeadline, RouterExt, RouterStateExt, Serve, ServeError, Uses, UsesExt,
    quiet_handler_panics, readiness, serve,
};
pub use axum_providers_core::{
    App, AppBuilder, BoxError, BuildError, Cancellation, Cancelled, CauseLogged, Check, CheckStatus, Dep,
    DepMut, Graph, HealthReport, Lazy, Outcome, ProviderError, ProviderRejection, ProviderState, Providers,
    Respond, Scope, Teardown, TeardownError, TeardownErrors, Together,
};
pub use axum_providers_macros::{bundle, handler, provider, providers};

/// The traits `#[provider]` and `#[providers(..)]` implement, and the
/// resolver their generated code uses. Name them to write generic code over
/// registries (`R: Provides<T>`).
pub mod registry {
    pub use axum_providers_core::{
        BundleEntry, ProvidedSet, Provider, ProviderEntry, Provides, Registry, Resolver, Setup,
        TeardownResult, TeardownTiming,
    };
}

/// Scopes (app, request, transient) and access (shared, exclusive) as types:
/// the markers of `Provider::Scope` and `Provider::Access`, and the rules
/// the compiler checks with them.
pub mod scope {
    pub use axum_providers_core::{
        Access, AppScope, AppValue, ExclusiveAccess, ExclusiveValue, Lendable, RequestScope, ScopeKind,
        ScopeMarker, Shareable, SharedAccess, SharedValue, StoreAs, TransientScope,
    };
}

/// For integrators: the request scope's driver (open, resolve, close before
/// the response, finish after it) that the axum layer is built on, and the
/// layer's service and future types.
pub mod driver {
    pub use axum_providers_axum::{
        DeadlineFuture, ProvidersFuture, ProvidersService, RequestDeadlineService, UsesService,
    };
    pub use axum_providers_core::{
        AfterResponse, BeforeResponse, Closed, OutcomeSender, Resolver, SharedScope, internal_error_response,
    };
}

#[path = "integrations/database.rs"]
pub mod database;

/// WebSockets whose teardowns see how the connection ended (feature `ws`).
#[cfg(feature = "ws")]
pub mod ws {
    pub use axum_providers_axum::ws::*;
}

#[cfg(any(feature = "sqlx-postgres", feature = "sqlx-sqlite", feature = "sqlx-any"))]
#[path = "integrations/sqlx.rs"]
pub mod sqlx;

#[cfg(feature = "deadpool-postgres")]
#[path = "integrations/deadpool_postgres.rs"]
pub mod deadpool_postgres;

#[cfg(feature = "redis")]
#[path = "integrations/redis.rs"]
pub mod redis;

/// The guide: a tour of the project, page by page, with compiled examples.
pub mod guide {
    #[doc = include_str!("../guide/providers.md")]
    pub mod providers {}
    #[doc = include_str!("../guide/scopes.md")]
    pub mod scopes {}
    #[doc = include_str!("../guide/concurrency.md")]
    pub mod concurrency {}
    #[doc = include_str!("../guide/checks.md")]
    pub mod checks {}
    #[doc = include_str!("../guide/patterns.md")]
    pub mod patterns {}
    #[doc = include_str!("../guide/testing.md")]
    pub mod testing {}
    #[doc = include_str!("../guide/databases.md")]
    pub mod databases {}
    #[doc = include_str!("../guide/websockets.md")]
    pub mod websockets {}
    #[doc = include_str!("../guide/observability.md")]
    pub mod observability {}
    #[doc = include_str!("../guide/migrating.md")]
    pub mod migrating {}
}

/// The names most programs need: `use axum_providers::prelude::*;`.
pub mod prelude {
    pub use crate::{
        App, Dep, DepMut, Lazy, Outcome, RouterExt as _, RouterStateExt as _, Teardown, UsesExt as _, bundle,
        handler, provider, providers,
    };
}

/// The README's examples, compiled as doc tests (one of them uses sqlx, so
/// they run when the `sqlx-postgres` feature is on, as in the workspace's
/// test run).
#[doc = include_str!("../../README.md")]
#[cfg(all(doctest, feature = "sqlx-postgres"))]
pub struct ReadmeDoctests;

/// Items used by generated code. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use axum::extract::FromRequestParts;
    pub use axum_providers_axum::__private::{
        ProviderParam, RequestHead, error_kind, extract, request_parts,
    };
    pub use axum_providers_core::__private::{
        AccessById, AccessId, BoxFuture, HealthCheck, NotAProvider, Produced, ScopeById, ScopeId, Slot,
        SlotTable, Stored, app_value, assert_acyclic, dependency_allowed, dependency_violation,
    };
    pub use axum_providers_core::BoxError;
    pub use axum_providers_core::ScopeMarker;
    pub use axum_providers_core::{
        Access, AppScope, BundleEntry, ExclusiveAccess, Lendable, Provider, ProviderEntry, ProviderError,
        Provides, Registry, RequestScope, Resolver, ScopeKind, Setup, Shareable, SharedAccess, StoreAs,
        TeardownResult, TeardownTiming, TransientScope,
    };
    pub use axum_providers_core::{ExclusiveValue, SharedValue};

    /// Compiles only when `R` has a provider of `T` whose values can be
    /// shared (used by `#[handler]` for `Dep<T>`).
    #[inline(always)]
    pub const fn assert_shared<R, T>()
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: Shareable,
        T: SharedValue,
    {
    }

    /// A provider's return type whose name ends in `Result` is read as a
    /// `Result` alias (`DbResult<Pool>`): this says so when it is not one.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is read as a `Result` alias, because its name ends in `Result`, but it is not `Result<{T}, _>`",
        label = "a provider returning this provides `{T}`",
        note = "a return type named `..Result<T, ..>` is taken for an alias of `Result<T, E>`, as `io::Result<T>` is",
        note = "to provide `{Self}` itself, name it through an alias whose name does not end in `Result` (`type Found = {Self};`)"
    )]
    pub trait ResultAlias<T> {}

    impl<T, E> ResultAlias<T> for Result<T, E> {}

    /// Compiles only when `R` is `Result<T, _>` (used by `#[provider]` for a
    /// return type read as a `Result` alias).
    #[inline(always)]
    pub const fn assert_result_alias<R: ResultAlias<T>, T>() {}

    /// Compiles only when `R` has a provider of `T` that can be borrowed
    /// exclusively (used by `#[handler]` for `DepMut<T>`).
    #[inline(always)]
    pub const fn assert_exclusive<R, T>()
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: Lendable<T>,
        T: ExclusiveValue,
    {
    }
}
