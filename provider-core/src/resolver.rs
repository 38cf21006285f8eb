//! Resolution of provided values, with per-scope caching.

use std::any::Any;

use std::future::Future;
use std::time::Instant;

use tracing::Instrument as _;

use crate::app::AppInner;
use crate::dep::{Dep, DepMut};
use crate::error::ProviderError;
use crate::provider::{Provides, Registry};
use crate::scope::{Access, Scope, ScopeKind};
use crate::scope_state::{Lookup, ScopeInner};
use crate::teardown::{BoxFuture, Erased, Lendable, Stored};

/// Resolves provided values for one consumer at a time.
///
/// Generated provider code receives one in `Setup::setup`; the axum
/// extractors build one per extraction. It borrows the app container, the
/// current scope (none while the app is being built) and, for HTTP, the
/// request's parts as an opaque context.
pub struct Resolver<'r, R: Registry> {
    app: &'r AppInner<R>,
    scope: Option<&'r ScopeInner<R>>,
    context: Option<&'r mut (dyn Any + Send)>,
}

impl<'r, R: Registry> Resolver<'r, R> {
    pub(crate) fn new(
        app: &'r AppInner<R>,
        scope: Option<&'r ScopeInner<R>>,
        context: Option<&'r mut (dyn Any + Send)>,
    ) -> Self {
        Self { app, scope, context }
    }

    /// The context of the current scope (for HTTP: the request's `Parts`), if it
    /// has one of type `C`. Scopes opened by hand have none.
    pub fn context_mut<C: Any>(&mut self) -> Option<&mut C> {
        self.context.as_deref_mut()?.downcast_mut::<C>()
    }

    /// Shared access to the `T` of this scope, setting it up (and its
    /// dependencies) on first use.
    ///
    /// # Errors
    ///
    /// When a provider on the way fails, or `T` is exclusively borrowed.
    pub async fn shared<T>(&mut self) -> Result<Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: Send + Sync + 'static,
    {
        let name = <R as Provides<T>>::NAME;
        if <<R as Provides<T>>::Access as Access>::EXCLUSIVE {
            return Err(not_shareable(name));
        }
        let index = <R as Provides<T>>::INDEX;
        let kind = <<R as Provides<T>>::Scope as Scope>::KIND;
        let stored = match kind {
            ScopeKind::App => self.app_value(index).await?,
            kind => self.scoped_value(index, kind).await?,
        };
        share::<T>(stored, name)
    }

    /// As [`shared`](Self::shared), without awaiting: `None` when `T` (or a
    /// dependency) is not there yet and needs a future to be set up.
    ///
    /// # Errors
    ///
    /// As [`shared`](Self::shared).
    pub fn shared_now<T>(&mut self) -> Option<Result<Dep<T>, ProviderError>>
    where
        R: Provides<T>,
        T: Send + Sync + 'static,
    {
        let name = <R as Provides<T>>::NAME;
        if <<R as Provides<T>>::Access as Access>::EXCLUSIVE {
            return Some(Err(not_shareable(name)));
        }
        let index = <R as Provides<T>>::INDEX;
        let kind = <<R as Provides<T>>::Scope as Scope>::KIND;
        let stored = match kind {
            ScopeKind::App => match self.app.value(index) {
                Some(stored) => Ok(stored),
                None if self.app.was_set_up(index) => Err(torn_down(name)),
                None => return None,
            },
            kind => self.scoped_value_now(index, kind)?,
        };
        Some(stored.and_then(|stored| share::<T>(stored, name)))
    }

    /// Exclusive access to the `T` of this scope (request or transient), setting
    /// it up on first use.
    ///
    /// # Errors
    ///
    /// When a provider on the way fails, or `T` is already borrowed in this scope.
    pub async fn exclusive<T>(&mut self) -> Result<DepMut<T>, ProviderError>
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: Lendable<T>,
        T: Send + 'static,
    {
        let name = <R as Provides<T>>::NAME;
        match <<R as Provides<T>>::Scope as Scope>::KIND {
            ScopeKind::App => Err(not_lendable(name)),
            kind => lend::<R, T>(self.scoped_value(<R as Provides<T>>::INDEX, kind).await?),
        }
    }

    /// As [`exclusive`](Self::exclusive), without awaiting: `None` when `T`
    /// (or a dependency) is not there yet and needs a future to be set up.
    ///
    /// # Errors
    ///
    /// As [`exclusive`](Self::exclusive).
    pub fn exclusive_now<T>(&mut self) -> Option<Result<DepMut<T>, ProviderError>>
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: Lendable<T>,
        T: Send + 'static,
    {
        let name = <R as Provides<T>>::NAME;
        match <<R as Provides<T>>::Scope as Scope>::KIND {
            ScopeKind::App => Some(Err(not_lendable(name))),
            kind => Some(self.scoped_value_now(<R as Provides<T>>::INDEX, kind)?.and_then(lend::<R, T>)),
        }
    }

    pub(crate) async fn app_value(&mut self, index: usize) -> Result<Stored, ProviderError> {
        let app = self.app;
        if let Some(stored) = app.value(index) {
            return Ok(stored);
        }
        if app.was_set_up(index) {
            return Err(torn_down(R::PROVIDERS[index].name()));
        }
        let erased = self.setup(index).await?;
        Ok(app.store(index, erased))
    }

    /// The request or transient value of provider `index`: cached, set up on
    /// the spot (a plain `fn` provider), or set up through its future.
    async fn scoped_value(&mut self, index: usize, kind: ScopeKind) -> Result<Stored, ProviderError> {
        if let Some(ready) = self.scoped_value_now(index, kind) {
            return ready;
        }
        let Some(scope) = self.scope else {
            return Err(ProviderError::internal(R::PROVIDERS[index].name(), REQUEST_VALUE_AT_BUILD));
        };
        let result = self.setup(index).await;
        Self::keep(scope, index, kind, result)
    }

    /// The request or transient value of provider `index` if it can be had
    /// without awaiting: cached, or produced on the spot by a plain `fn`
    /// provider (no override, no span to record). `None` otherwise, before
    /// anything was set up for `index` itself.
    fn scoped_value_now(&mut self, index: usize, kind: ScopeKind) -> Option<Result<Stored, ProviderError>> {
        let entry = &R::PROVIDERS[index];
        let Some(scope) = self.scope else {
            return Some(Err(ProviderError::internal(entry.name(), REQUEST_VALUE_AT_BUILD)));
        };
        match scope.lookup(index, kind) {
            Lookup::Cached(stored) => return Some(Ok(stored)),
            Lookup::Closed => {
                return Some(Err(ProviderError::internal(entry.name(), "the scope is already closed")));
            }
            Lookup::Missing => {}
        }
        let overridden = self.app.overrides.as_ref().is_some_and(|overrides| overrides[index].is_some());
        if overridden || scope.traced() {
            return None;
        }
        let result = (entry.setup_now)(self)?;
        Some(Self::keep(scope, index, kind, result))
    }

    /// Stores a value just set up in `scope`, or records the failure.
    fn keep(
        scope: &ScopeInner<R>,
        index: usize,
        kind: ScopeKind,
        result: Result<Erased, ProviderError>,
    ) -> Result<Stored, ProviderError> {
        match result {
            Ok(erased) => scope.store(index, kind, erased),
            Err(error) => {
                if error.is_setup_failure() {
                    scope.mark_setup_failed();
                }
                Err(error)
            }
        }
    }

    /// Sets up the value of provider `index` in this scope if it is not there
    /// yet, without handing it out: for side-effect and app-wide providers.
    ///
    /// # Errors
    ///
    /// When the provider (or one of its dependencies) fails.
    pub async fn ensure_index(&mut self, index: usize) -> Result<(), ProviderError> {
        match R::PROVIDERS[index].scope() {
            ScopeKind::App => self.app_value(index).await.map(drop),
            kind => self.scoped_value(index, kind).await.map(drop),
        }
    }

    /// Sets up `T` in this scope if it is not there yet, without handing it
    /// out (see [`ensure_index`](Self::ensure_index)).
    ///
    /// # Errors
    ///
    /// When the provider (or one of its dependencies) fails.
    pub async fn ensure<T>(&mut self) -> Result<(), ProviderError>
    where
        R: Provides<T>,
    {
        self.ensure_index(<R as Provides<T>>::INDEX).await
    }

    /// The provider's future (or its override's), boxed through the
    /// registry's table: statically dispatched setup would nest every
    /// dependency's future in its dependent's, and a deep graph then
    /// overflows rustc's layout query depth.
    fn setup(&mut self, index: usize) -> BoxFuture<'_, Result<Erased, ProviderError>> {
        let app = self.app;
        let entry = &R::PROVIDERS[index];
        let replacement = app.overrides.as_ref().and_then(|overrides| overrides[index].as_ref());
        let overridden = replacement.is_some();
        let spanned = match self.scope {
            Some(scope) => scope.traced(),
            None => tracing::enabled!(tracing::Level::DEBUG),
        };
        let future = match replacement {
            Some(replace) => replace(),
            None => (entry.setup)(self),
        };
        // A span only when someone listens: creating one costs even when no
        // subscriber wants it (a dependency may turn on `tracing`'s `log` bridge).
        if !spanned {
            return future;
        }
        Box::pin(traced(future, entry.name(), entry.scope(), overridden))
    }
}

const REQUEST_VALUE_AT_BUILD: &str = "a request-scoped value was requested while the app was being built";

fn torn_down(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "the app was shut down and this value was torn down")
}

fn not_shareable(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "an exclusive value cannot be shared with `Dep`")
}

fn not_lendable(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "app-scoped values cannot be borrowed exclusively")
}

/// A shared handle to a stored value: one reference count.
fn share<T: Send + Sync + 'static>(stored: Stored, name: &'static str) -> Result<Dep<T>, ProviderError> {
    stored
        .downcast::<T>()
        .map(Dep::new)
        .map_err(|_| ProviderError::internal(name, "stored value has an unexpected type"))
}

/// An exclusive handle to a stored request or transient value.
fn lend<R, T>(stored: Stored) -> Result<DepMut<T>, ProviderError>
where
    R: Provides<T>,
    <R as Provides<T>>::Access: Lendable<T>,
{
    <<R as Provides<T>>::Access as Lendable<T>>::lend_mut(stored)
        .ok_or_else(|| ProviderError::exclusive(<R as Provides<T>>::NAME, std::any::type_name::<T>()))
}

/// Runs a setup in a `provider.setup` span that records its duration and result.
async fn traced<F: Future<Output = Result<Erased, ProviderError>>>(
    future: F,
    provider: &'static str,
    scope: ScopeKind,
    overridden: bool,
) -> Result<Erased, ProviderError> {
    let span = tracing::debug_span!(
        "provider.setup",
        provider,
        scope = scope.as_str(),
        overridden,
        elapsed_us = tracing::field::Empty,
        ok = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = future.instrument(span.clone()).await;
    span.record("elapsed_us", u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    span.record("ok", result.is_ok());
    result
}
