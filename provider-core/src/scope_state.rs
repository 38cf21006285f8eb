//! Request scopes: the per-request cache of values and their teardown.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::app::App;
use crate::dep::{Dep, DepMut};
use crate::error::{ProviderError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::{Provides, Registry};
use crate::resolver::Resolver;
use crate::scope::{Exclusive, ScopeKind};
use crate::teardown::{Entry, Erased, Stored};

pub(crate) struct ScopeInner<R: Registry> {
    app: App<R>,
    state: Mutex<ScopeState>,
}

#[derive(Default)]
struct ScopeState {
    /// Cached request-scoped values, by provider index (allocated on first use).
    slots: Vec<Option<Stored>>,
    /// Every value set up in this scope, in setup order.
    order: Vec<Entry>,
    setup_failed: bool,
    closed: bool,
}

impl<R: Registry> ScopeInner<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        Self { app, state: Mutex::new(ScopeState::default()) }
    }

    fn state(&self) -> MutexGuard<'_, ScopeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn resolver<'r>(&'r self, context: Option<&'r mut (dyn Any + Send)>) -> Resolver<'r, R> {
        Resolver::new(self.app.inner(), Some(self), context)
    }

    pub(crate) fn cached(&self, index: usize) -> Option<Stored> {
        self.state().slots.get(index)?.clone()
    }

    pub(crate) fn store(
        &self,
        index: usize,
        kind: ScopeKind,
        provider: &'static str,
        erased: Erased,
    ) -> Stored {
        let Erased { value, teardown } = erased;
        let mut state = self.state();
        if kind == ScopeKind::Request {
            if state.slots.is_empty() {
                state.slots.resize(R::PROVIDERS.len(), None);
            }
            state.slots[index] = Some(Arc::clone(&value));
        }
        state.order.push(Entry { provider, value: Arc::clone(&value), teardown });
        value
    }

    pub(crate) fn mark_setup_failed(&self) {
        self.state().setup_failed = true;
    }

    /// `true` when a provider failed in this scope.
    pub(crate) fn setup_failed(&self) -> bool {
        self.state().setup_failed
    }

    /// Closes the scope: tears every value down, in reverse order of setup.
    ///
    /// A provider failure in this scope turns a success or error-response outcome
    /// into [`Outcome::SetupFailed`]. Values still held by a `Dep` (a streaming
    /// body, a spawned task) are torn down, still in order, once released.
    pub(crate) async fn close(&self, outcome: Outcome) -> Result<(), TeardownErrors> {
        let Some((entries, outcome)) = self.take_entries(outcome) else {
            return Ok(());
        };
        run_in_reverse(entries, outcome, &self.app).await
    }

    /// Closes the scope without waiting: for scopes dropped before they were
    /// closed (a cancelled request, a hand-opened scope that was dropped).
    pub(crate) fn abandon(&self, outcome: Outcome) {
        if let Some((entries, outcome)) = self.take_entries(outcome)
            && !entries.is_empty()
        {
            defer(entries, outcome, self.app.clone());
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed
    }

    fn take_entries(&self, outcome: Outcome) -> Option<(Vec<Entry>, Outcome)> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        state.closed = true;
        state.slots = Vec::new();
        let outcome = match outcome {
            Outcome::Success | Outcome::ErrorResponse { .. } if state.setup_failed => Outcome::SetupFailed,
            other => other,
        };
        Some((std::mem::take(&mut state.order), outcome))
    }
}

impl<R: Registry> Drop for ScopeInner<R> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !state.closed && !state.order.is_empty() {
            state.closed = true;
            let entries = std::mem::take(&mut state.order);
            state.slots = Vec::new();
            defer(entries, Outcome::Cancelled, self.app.clone());
        }
    }
}

/// Runs `entries` last to first, collecting failures. When a value is still in
/// use, the rest (that value and everything set up before it) is handed to a
/// background task that waits for each value to be released, keeping the order.
pub(crate) async fn run_in_reverse<R: Registry>(
    mut entries: Vec<Entry>,
    outcome: Outcome,
    app: &App<R>,
) -> Result<(), TeardownErrors> {
    let mut errors = Vec::new();
    while let Some(entry) = entries.pop() {
        if entry.in_use() {
            entries.push(entry);
            defer(entries, outcome, app.clone());
            break;
        }
        if let Err(error) = entry.finish(outcome).await {
            errors.push(error);
        }
    }
    report(errors)
}

fn report(errors: Vec<crate::error::TeardownError>) -> Result<(), TeardownErrors> {
    if errors.is_empty() {
        return Ok(());
    }
    let errors = TeardownErrors { errors };
    tracing::error!(failures = errors.errors.len(), "{errors}");
    Err(errors)
}

/// Hands teardown to a task on the current runtime. The task holds an app
/// handle, so app shutdown waits for it.
fn defer<R: Registry>(entries: Vec<Entry>, outcome: Outcome, app: App<R>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        let names: Vec<_> = entries.iter().map(|entry| entry.provider).collect();
        tracing::error!(
            providers = ?names,
            "a scope was dropped outside a tokio runtime; these values were dropped without teardown"
        );
        return;
    };
    runtime.spawn(async move {
        let mut entries = entries;
        let mut errors = Vec::new();
        while let Some(entry) = entries.pop() {
            let mut wait = Duration::from_millis(1);
            while entry.in_use() {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(50));
            }
            if let Err(error) = entry.finish(outcome).await {
                errors.push(error);
            }
        }
        let _reported = report(errors);
        drop(app);
    });
}

/// A scope opened by hand: for CLI jobs, workers and tests.
///
/// Obtained from [`App::scope`]. Resolve values with [`get`](Scope::get) and
/// [`get_mut`](Scope::get_mut), then [`close`](Scope::close) it to run their
/// teardown. A scope dropped without `close` is torn down in the background
/// with [`Outcome::Cancelled`].
///
/// ```
/// # use axum_providers_core as axum_providers;
/// # async fn job(app: axum_providers::App<impl axum_providers::Registry>) {}
/// ```
pub struct Scope<R: Registry> {
    inner: Arc<ScopeInner<R>>,
}

impl<R: Registry> Scope<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        Self { inner: Arc::new(ScopeInner::new(app)) }
    }

    /// Shared access to the scope's `T`, set up on first use.
    ///
    /// # Errors
    ///
    /// When a provider fails, when `T` is exclusively borrowed, or when a provider
    /// on the way needs the HTTP request.
    pub async fn get<T>(&mut self) -> Result<Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: Send + Sync + 'static,
    {
        self.inner.resolver(None).shared::<T>().await
    }

    /// Exclusive access to the scope's `T`, set up on first use.
    ///
    /// # Errors
    ///
    /// As [`get`](Scope::get), and when `T` is already borrowed.
    pub async fn get_mut<T>(&mut self) -> Result<DepMut<T>, ProviderError>
    where
        R: Provides<T>,
        T: Send + Sync + 'static,
        <R as Provides<T>>::Scope: Exclusive,
    {
        self.inner.resolver(None).exclusive::<T>().await
    }

    /// Closes the scope: every value set up in it is torn down, in reverse order
    /// of setup, with `outcome` (or [`Outcome::SetupFailed`] if a provider failed).
    ///
    /// Values still held by a `Dep` are torn down in the background when released.
    ///
    /// # Errors
    ///
    /// Every teardown that failed; all of them ran.
    pub async fn close(self, outcome: Outcome) -> Result<(), TeardownErrors> {
        self.inner.close(outcome).await
    }
}

impl<R: Registry> Drop for Scope<R> {
    fn drop(&mut self) {
        if !self.inner.is_closed() {
            self.inner.abandon(Outcome::Cancelled);
        }
    }
}

/// A request scope shared between the tower layer and the extractors.
#[doc(hidden)]
pub struct SharedScope<R: Registry>(Arc<ScopeInner<R>>);

impl<R: Registry> Clone for SharedScope<R> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<R: Registry> SharedScope<R> {
    /// Opens a request scope of `app`.
    #[must_use]
    pub fn open(app: &App<R>) -> Self {
        Self(Arc::new(ScopeInner::new(app.clone())))
    }

    /// A resolver over this scope with `context` (the request's parts).
    pub fn resolver<'r>(&'r self, context: &'r mut (dyn Any + Send)) -> Resolver<'r, R> {
        self.0.resolver(Some(context))
    }

    /// See [`Scope::close`].
    ///
    /// # Errors
    ///
    /// Every teardown that failed; all of them ran.
    pub async fn close(&self, outcome: Outcome) -> Result<(), TeardownErrors> {
        self.0.close(outcome).await
    }

    /// Closes without waiting (teardown runs in the background).
    pub fn abandon(&self, outcome: Outcome) {
        self.0.abandon(outcome);
    }

    /// `true` once closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// `true` when a provider failed in this scope.
    #[must_use]
    pub fn setup_failed(&self) -> bool {
        self.0.setup_failed()
    }
}

#[cfg(test)]
mod tests {
    // Unused-marker check: the scope marker trait is implemented for the kinds.
    use crate::scope::Scope as ScopeMarker;
    use crate::scope::{AppScope, RequestScope, ScopeKind, TransientScope};

    #[test]
    fn markers_name_their_kind() {
        assert_eq!(<AppScope as ScopeMarker>::KIND, ScopeKind::App);
        assert_eq!(<RequestScope as ScopeMarker>::KIND, ScopeKind::Request);
        assert_eq!(<TransientScope as ScopeMarker>::KIND, ScopeKind::Transient);
        assert_eq!(ScopeKind::Transient.as_str(), "transient");
    }
}
