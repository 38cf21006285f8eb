//! The framework-independent runtime of `axum-providers`.
//!
//! Most users depend on the `axum-providers` facade instead, which re-exports
//! this crate together with the `#[provider]` macro and the axum glue. This
//! crate alone is enough to use providers outside HTTP: a CLI job or a worker
//! builds an [`App`], opens a [`Scope`] by hand, resolves values and closes it.
//!
//! The pieces:
//!
//! - [`Provider`] and [`Setup`]: what `#[provider]` implements for the marker
//!   type it generates next to a provider function;
//! - [`Registry`] and [`Provides`]: what `#[providers(..)]` implements for the
//!   type that lists an app's providers; a missing provider is a compile error
//!   at the consumer (`no provider produces `T``);
//! - scopes: [`AppScope`], [`RequestScope`], [`TransientScope`]; a
//!   short-lived dependency of a long-lived provider is a compile error (and
//!   so is [`App::get`] of a short-lived value, by [`AppValue`]);
//! - [`Dep`] and [`DepMut`]: shared and exclusive handles to provided values;
//! - [`Teardown`] and [`Outcome`]: setup and teardown in one function, with the
//!   outcome of the scope;
//! - [`App`], [`AppBuilder`] and [`Scope`]: the container, overrides for tests,
//!   scopes opened by hand;
//! - [`SharedScope`], [`BeforeResponse`], [`Closed`] and [`AfterResponse`]:
//!   the driver of a request scope, for integrating providers with a web
//!   framework (the axum layer is built on it).

mod app;
mod builder;
mod closing;
mod concurrent;
mod deferred;
mod dep;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod graph;
mod hand_scope;
mod health;
mod held;
mod message;
mod open_scope;
mod outcome;
mod provider;
mod resolver;
mod scope;
mod shared_scope;
mod shutdown;
mod slot;
mod teardown;
mod uses;

pub use app::App;
pub use builder::AppBuilder;
pub use closing::{AfterResponse, Closed, OutcomeSender};
pub use dep::{Dep, DepMut};
pub use error::{
    BoxError, BuildError, ProviderError, Respond, ResponsePayload, TeardownError, TeardownErrors,
};
#[cfg(feature = "axum")]
pub use extract::{
    CauseLogged, Lazy, ProviderRejection, ProviderState, Providers, Together, internal_error_response,
};
pub use graph::Graph;
pub use hand_scope::Scope;
pub use health::{Check, CheckStatus, HealthReport};
pub use outcome::Outcome;
pub use provider::{BundleEntry, Provider, ProviderEntry, Provides, Registry, Setup};
pub use resolver::Resolver;
pub use scope::{
    Access, AppScope, AppValue, ExclusiveAccess, RequestScope, ScopeKind, ScopeMarker, Shareable,
    SharedAccess, TransientScope,
};
pub use shared_scope::{BeforeResponse, SharedScope};
pub use shutdown::{Cancellation, Cancelled};
pub use teardown::{
    ExclusiveValue, Lendable, SharedValue, StoreAs, Teardown, TeardownResult, TeardownTiming,
};
pub use uses::ProvidedSet;

/// Items used by generated code and by the axum integration. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::health::app_value;
    pub use crate::held::Cell;
    pub use crate::message::{Message, dependency_allowed, dependency_violation};
    pub use crate::provider::HealthCheck;
    pub use crate::provider::{BundleEntry, NotAProvider, assert_acyclic};
    pub use crate::scope::{AccessById, AccessId, ScopeById, ScopeId};
    pub use crate::slot::{Slot, SlotTable};
    pub use crate::teardown::BoxFuture;
    pub use crate::teardown::{Produced, Stored};
}
