//! The axum glue of `axum-providers`: the layer that opens and closes a
//! request scope around each request, `Router::with_providers`, and `serve`
//! with graceful shutdown followed by app teardown.
//!
//! `Dep<T>` and `DepMut<T>` are axum extractors themselves (implemented in
//! `axum-providers-core` behind its `axum` feature, next to the types).
//! Most users depend on the `axum-providers` facade, which re-exports this crate.

mod body;
mod deadline;
mod layer;
mod panic;
mod readiness;
mod router;
mod serve;
mod uses;
#[cfg(feature = "ws")]
pub mod ws;

pub use deadline::{Deadline, DeadlineFuture, RequestDeadline, RequestDeadlineService};
pub use layer::{ProvidersFuture, ProvidersLayer, ProvidersService};
pub use panic::quiet_handler_panics;
pub use readiness::readiness;
pub use router::{RouterExt, RouterStateExt};
pub use serve::{Serve, ServeError, serve};
pub use uses::{Uses, UsesExt, UsesService};

#[doc(hidden)]
pub mod __private;
