//! The traits that `#[provider]` and `#[providers(..)]` implement.

use std::future::Future;

use crate::dep::HandOut;
use crate::error::ProviderError;
use crate::resolver::Resolver;
use crate::scope::{Access, ScopeKind, ScopeMarker};
use crate::slot::{Slot, SlotTable};
use crate::teardown::{BoxFuture, Produced, StoreAs, Stored, TeardownTiming};

/// A provider: the marker type that `#[provider]` generates next to the
/// function, named like the function.
///
/// Implemented by the macro; users name the marker in `#[providers(..)]`.
pub trait Provider: Send + Sync + 'static {
    /// The type that consumers receive.
    type Output: Send + 'static;
    /// The scope marker ([`AppScope`](crate::AppScope), ...).
    type Scope: ScopeMarker;
    /// The access marker ([`SharedAccess`](crate::SharedAccess) or
    /// [`ExclusiveAccess`](crate::ExclusiveAccess)).
    type Access: Access + StoreAs<Self::Output>;
    /// The provider's name (its function's name), used in logs and errors.
    const NAME: &'static str;
    /// When its teardown runs (`#[provider(teardown = ..)]`).
    const TEARDOWN: TeardownTiming = TeardownTiming::BeforeResponse;
    /// Its health check (`#[provider(scope = app, health = ..)]`).
    #[doc(hidden)]
    const HEALTH: Option<crate::health::HealthCheck> = None;
}

/// How provider `Self` is set up within registry `R`.
///
/// The macro implements it with one where-clause per dependency, so a missing
/// or shorter-lived dependency is reported when a registry lists the provider.
#[diagnostic::on_unimplemented(
    message = "provider `{Self}` cannot be used by `{R}`",
    label = "a dependency of `{Self}` is not available in `{R}`",
    note = "each `Dep<T>` of a provider needs a provider of `T` in the same `#[providers(..)]` list, living at least as long"
)]
pub trait Setup<R: Registry>: Provider {
    /// Indexes (in `R::PROVIDERS`) of the providers this one depends on.
    const DEPS: &'static [usize];
    /// `1 +` the largest `DEPTH` of the dependencies. Evaluating it for a
    /// dependency cycle fails to compile with "cycle detected" (E0391) naming
    /// every provider on the cycle.
    const DEPTH: usize;

    /// `true` for a plain `fn` provider that takes only provided values and
    /// borrowed parts of the request: when its dependencies are ready, the
    /// runtime sets it up on the spot, without boxing its future.
    const SETS_UP_NOW: bool = false;

    /// Resolves the dependencies, runs the provider's function and returns what it
    /// produced.
    fn setup(
        resolver: &mut Resolver<'_, R>,
    ) -> impl Future<Output = Result<Produced<Self::Output>, ProviderError>> + Send;
}

/// The set of providers of an app: the type `#[providers(..)]` is put on.
pub trait Registry: Sized + Send + Sync + 'static {
    /// Every provider, in the order of the list.
    const PROVIDERS: &'static [ProviderEntry<Self>];
    /// The providers set up for every request before its handler runs
    /// (`autouse = [..]` in `#[providers(..)]`), by index.
    const AUTOUSE: &'static [usize] = &[];
    /// One slot per provider: where a scope finds each value.
    #[doc(hidden)]
    type Slots: SlotTable;
}

/// The registry `Self` has a provider of `T`.
#[diagnostic::on_unimplemented(
    message = "no provider produces `{T}` in `{Self}`",
    label = "`{T}` is requested here, but no provider in `{Self}` returns it",
    note = "write a `#[provider]` function that returns `{T}` (or `Result<{T}, E>`, or a `Teardown<{T}>`) and add its name to `#[providers(..)]` on `{Self}`"
)]
pub trait Provides<T>: Registry {
    /// The scope of the provider of `T`.
    type Scope: ScopeMarker;
    /// The access of the provider of `T`.
    type Access: Access;
    /// The name of the provider of `T`.
    const NAME: &'static str;
    /// Its index in [`Registry::PROVIDERS`].
    const INDEX: usize;
    /// Its depth in the dependency graph (see [`Setup::DEPTH`]).
    const DEPTH: usize;
    /// How the value is kept.
    #[doc(hidden)]
    type Cell: HandOut<Value = T>;
    /// The provider's slot in a table of the registry's slots.
    #[doc(hidden)]
    fn slot(slots: &Self::Slots) -> &Slot<Self::Cell>;
}

/// Sets a provider up through its boxed future; hands back the value only
/// for a transient provider (the others are in their slot).
pub(crate) type SetupFn<R> =
    for<'a, 'r> fn(&'a mut Resolver<'r, R>) -> BoxFuture<'a, Result<Option<Stored>, ProviderError>>;

/// Sets a provider up on the spot (see [`Setup::SETS_UP_NOW`]).
pub(crate) type SetupNowFn<R> = for<'r> fn(&mut Resolver<'r, R>) -> Result<Option<Stored>, ProviderError>;

/// What a registry knows about one of its providers.
pub struct ProviderEntry<R: Registry> {
    name: &'static str,
    scope: ScopeKind,
    exclusive: bool,
    timing: TeardownTiming,
    health: Option<crate::health::HealthCheck>,
    deps: &'static [usize],
    output: fn() -> &'static str,
    pub(crate) sets_up_now: bool,
    pub(crate) setup: SetupFn<R>,
    pub(crate) setup_now: SetupNowFn<R>,
    /// Whether the provider's slot in a table is set.
    pub(crate) is_set: fn(&R::Slots) -> bool,
    /// The value in the provider's slot in a table, type-erased.
    pub(crate) stored: fn(&R::Slots) -> Option<Stored>,
}

impl<R: Registry> ProviderEntry<R> {
    /// The entry of provider `P`.
    #[doc(hidden)]
    #[must_use]
    pub const fn of<P: Setup<R>>() -> Self
    where
        R: Provides<P::Output>,
    {
        Self {
            name: P::NAME,
            scope: <P::Scope as ScopeMarker>::KIND,
            exclusive: <P::Access as Access>::EXCLUSIVE,
            timing: P::TEARDOWN,
            health: P::HEALTH,
            deps: P::DEPS,
            output: std::any::type_name::<P::Output>,
            sets_up_now: P::SETS_UP_NOW,
            setup: crate::resolver::setup_boxed::<R, P>,
            setup_now: crate::resolver::setup_now::<R, P>,
            is_set: slot_is_set::<R, P::Output>,
            stored: slot_value::<R, P::Output>,
        }
    }

    /// The provider's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The provider's scope.
    #[must_use]
    pub fn scope(&self) -> ScopeKind {
        self.scope
    }

    /// `true` for `#[provider(exclusive)]`.
    #[must_use]
    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// When its teardown runs.
    #[must_use]
    pub fn teardown_timing(&self) -> TeardownTiming {
        self.timing
    }

    /// Its health check, if it has one.
    #[must_use]
    pub(crate) fn health(&self) -> Option<crate::health::HealthCheck> {
        self.health
    }

    /// The indexes of its dependencies in the registry's list.
    #[must_use]
    pub fn deps(&self) -> &'static [usize] {
        self.deps
    }

    /// The name of the type it provides.
    #[must_use]
    pub fn output_type(&self) -> &'static str {
        (self.output)()
    }
}

fn slot_is_set<R: Provides<T>, T>(slots: &R::Slots) -> bool {
    R::slot(slots).is_set()
}

fn slot_value<R: Provides<T>, T>(slots: &R::Slots) -> Option<Stored> {
    R::slot(slots).get(true).map(|handle| handle as Stored)
}

/// `1 + max(depths)`: the depth of a provider whose dependencies have `depths`.
#[doc(hidden)]
#[must_use]
pub const fn depth(depths: &[usize]) -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < depths.len() {
        if depths[i] > max {
            max = depths[i];
        }
        i += 1;
    }
    max + 1
}
