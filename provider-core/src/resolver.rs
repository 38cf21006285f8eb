//! Resolution of provided values, with per-scope caching.

use std::any::Any;
use std::sync::Arc;

use std::future::Future;
use std::time::Instant;

use parking_lot::RwLock;
use tracing::Instrument as _;

use crate::app::AppInner;
use crate::dep::{Dep, DepMut};
use crate::error::ProviderError;
use crate::provider::{Provides, Registry};
use crate::scope::{Access, Scope, ScopeKind};
use crate::scope_state::{Lookup, ScopeInner};
use crate::teardown::{BoxFuture, Erased, StoreAs, Stored};

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
        let index = <R as Provides<T>>::INDEX;
        let name = <R as Provides<T>>::NAME;
        if <<R as Provides<T>>::Access as Access>::EXCLUSIVE {
            return Err(ProviderError::internal(name, "an exclusive value cannot be shared with `Dep`"));
        }
        match <<R as Provides<T>>::Scope as Scope>::KIND {
            ScopeKind::App => {
                let stored = self.app_value(index).await?;
                let value = stored
                    .downcast::<T>()
                    .map_err(|_| ProviderError::internal(name, "stored value has an unexpected type"))?;
                Ok(Dep::app(value))
            }
            kind => {
                let lock = downcast_rwlock::<T>(self.scoped_value_of::<T>(kind).await?, name)?;
                lock.try_read_arc()
                    .map(Dep::scoped)
                    .ok_or_else(|| ProviderError::exclusive(name, std::any::type_name::<T>()))
            }
        }
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
        <R as Provides<T>>::Access: StoreAs<T>,
        T: Send + 'static,
    {
        let name = <R as Provides<T>>::NAME;
        match <<R as Provides<T>>::Scope as Scope>::KIND {
            ScopeKind::App => {
                Err(ProviderError::internal(name, "app-scoped values cannot be borrowed exclusively"))
            }
            kind => {
                let stored = self.scoped_value_of::<T>(kind).await?;
                <<R as Provides<T>>::Access as StoreAs<T>>::lend_mut(stored)
                    .ok_or_else(|| ProviderError::exclusive(name, std::any::type_name::<T>()))
            }
        }
    }

    pub(crate) async fn app_value(&mut self, index: usize) -> Result<Stored, ProviderError> {
        let app = self.app;
        if let Some(stored) = app.values[index].get() {
            return Ok(Arc::clone(stored));
        }
        let erased = self.setup(index).await?;
        Ok(app.store(index, erased))
    }

    /// The request or transient value of `T`: cached, or set up now with the
    /// provider's future statically dispatched (the request path).
    async fn scoped_value_of<T>(&mut self, kind: ScopeKind) -> Result<Stored, ProviderError>
    where
        R: Provides<T>,
    {
        let index = <R as Provides<T>>::INDEX;
        let Some(scope) = self.scope else {
            return Err(ProviderError::internal(
                <R as Provides<T>>::NAME,
                "a request-scoped value was requested while the app was being built",
            ));
        };
        match scope.lookup(index, kind) {
            Lookup::Cached(stored) => return Ok(stored),
            Lookup::Closed => {
                return Err(ProviderError::internal(<R as Provides<T>>::NAME, "the scope is already closed"));
            }
            Lookup::Missing => {}
        }
        let app = self.app;
        let entry = &R::PROVIDERS[index];
        let replacement = app.overrides.as_ref().and_then(|overrides| overrides[index].as_ref());
        let overridden = replacement.is_some();
        // Boxed, through the registry's table: statically dispatched setup
        // nests every dependency's future in its dependent's, and a deep graph
        // then overflows rustc's layout query depth.
        let future = match replacement {
            Some(replace) => replace(),
            None => (entry.setup)(self),
        };
        // A span only when someone listens: creating one costs even when no
        // subscriber wants it (a dependency may turn on `tracing`'s `log` bridge).
        let result = if tracing::enabled!(tracing::Level::DEBUG) {
            traced(future, entry.name(), entry.scope(), overridden).await
        } else {
            future.await
        };
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

    async fn scoped_value(&mut self, index: usize, kind: ScopeKind) -> Result<Stored, ProviderError> {
        let entry = &R::PROVIDERS[index];
        let Some(scope) = self.scope else {
            return Err(ProviderError::internal(
                entry.name(),
                "a request-scoped value was requested while the app was being built",
            ));
        };
        if kind == ScopeKind::Request
            && let Some(stored) = scope.cached(index)
        {
            return Ok(stored);
        }
        if scope.is_closed() {
            return Err(ProviderError::internal(entry.name(), "the scope is already closed"));
        }
        match self.setup(index).await {
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

    fn setup(&mut self, index: usize) -> BoxFuture<'_, Result<Erased, ProviderError>> {
        let app = self.app;
        let entry = &R::PROVIDERS[index];
        let replacement = app.overrides.as_ref().and_then(|overrides| overrides[index].as_ref());
        let overridden = replacement.is_some();
        let future = match replacement {
            Some(replace) => replace(),
            None => (entry.setup)(self),
        };
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return future;
        }
        Box::pin(traced(future, entry.name(), entry.scope(), overridden))
    }
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

fn downcast_rwlock<T: Send + Sync + 'static>(
    stored: Stored,
    name: &'static str,
) -> Result<Arc<RwLock<T>>, ProviderError> {
    stored
        .downcast::<RwLock<T>>()
        .map_err(|_| ProviderError::internal(name, "stored value has an unexpected type"))
}
