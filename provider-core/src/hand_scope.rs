//! Scopes opened by hand, outside HTTP: for CLI jobs, workers and tests.

use std::sync::Arc;

use crate::app::App;
use crate::dep::{Dep, DepMut};
use crate::error::{ProviderError, TeardownErrors};
use crate::open_scope::ScopeInner;
use crate::outcome::Outcome;
use crate::provider::{Provides, Registry};
use crate::resolver::Resolver;
use crate::scope::Shareable;
use crate::teardown::{ExclusiveValue, Lendable, SharedValue};

/// A scope opened by hand: for CLI jobs, workers and tests.
///
/// Obtained from [`App::scope`]. Resolve values with [`get`](Scope::get) and
/// [`get_mut`](Scope::get_mut), then [`close`](Scope::close) it to run their
/// teardown. A scope dropped without `close` is torn down in the background
/// with [`Outcome::Cancelled`].
pub struct Scope<R: Registry> {
    inner: Arc<ScopeInner<R>>,
}

impl<R: Registry> App<R> {
    /// Opens a scope by hand, outside HTTP: for a CLI job, a worker, a test.
    ///
    /// Providers that take HTTP extractors cannot run in it (resolving them
    /// returns an error naming the extractor).
    #[must_use]
    pub fn scope(&self) -> Scope<R> {
        Scope { inner: Arc::new(ScopeInner::new(self.clone())) }
    }
}

impl<R: Registry> Scope<R> {
    /// Shared access to the scope's `T`, set up on first use.
    ///
    /// # Errors
    ///
    /// When a provider fails, when `T` is exclusively borrowed, or when a provider
    /// on the way needs the HTTP request.
    pub async fn get<T>(&mut self) -> Result<Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: SharedValue,
        <R as Provides<T>>::Access: Shareable,
    {
        Resolver::in_scope(&self.inner, None).shared::<T>().await
    }

    /// Exclusive access to the scope's `T`, set up on first use.
    ///
    /// # Errors
    ///
    /// As [`get`](Scope::get), and when `T` is already borrowed.
    pub async fn get_mut<T>(&mut self) -> Result<DepMut<T>, ProviderError>
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: Lendable<T>,
        T: ExclusiveValue,
    {
        Resolver::in_scope(&self.inner, None).exclusive::<T>().await
    }

    /// Closes the scope: every value set up in it is torn down, in reverse order
    /// of setup, with `outcome` (or [`Outcome::SetupFailed`] if a provider failed).
    ///
    /// A job closes with [`Outcome::Success`] when its work is done (a
    /// transaction then commits) and with [`Outcome::Failed`] when it failed
    /// (it rolls back). When a teardown fails during a successful close, the
    /// teardowns after it see [`Outcome::Failed`]: a commit that failed is not
    /// followed by commits of what was set up before it.
    ///
    /// A value still held by a `Dep` is torn down in the background when
    /// released, with every value set up before it.
    ///
    /// # Errors
    ///
    /// Every teardown that failed; all of them ran.
    pub async fn close(self, outcome: Outcome) -> Result<(), TeardownErrors> {
        self.inner.close_all(outcome).await
    }
}

impl<R: Registry> Drop for Scope<R> {
    fn drop(&mut self) {
        if !self.inner.is_closed() {
            self.inner.abandon(Outcome::Cancelled);
        }
    }
}
