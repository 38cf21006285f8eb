//! The app container: builds app-scoped values, opens scopes, shuts down.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::deferred::Deferred;
use crate::error::{BuildError, ProviderError, TeardownError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::{Provides, Registry};
use crate::resolver::Resolver;
use crate::scope::{AppScope, InjectableInto, Scope as ScopeMarker, ScopeKind};
use crate::scope_state::Scope;
use crate::teardown::{BoxFuture, Entry, Erased, Produced, StoreAs, Stored};

type Replacement = Box<dyn Fn() -> BoxFuture<'static, Result<Erased, ProviderError>> + Send + Sync>;

/// The app container of registry `R`: the app-scoped values, the overrides,
/// and the door to request scopes.
///
/// Cheap to clone (a handle). Two containers, of the same registry or not, share
/// nothing: there is no global state.
///
/// ```
/// use axum_providers_core::App;
/// # use axum_providers_core::{Registry, ProviderEntry};
/// # struct Providers;
/// # impl Registry for Providers { const PROVIDERS: &'static [ProviderEntry<Self>] = &[]; }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<Providers>::builder().build().await?;
/// let scope = app.scope();
/// scope.close(axum_providers_core::Outcome::Success).await?;
/// app.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct App<R: Registry> {
    inner: Arc<AppInner<R>>,
}

impl<R: Registry> Clone for App<R> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<R: Registry> std::fmt::Debug for App<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("registry", &std::any::type_name::<R>())
            .field("providers", &R::PROVIDERS.len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct AppInner<R: Registry> {
    pub(crate) values: Box<[OnceLock<Stored>]>,
    pub(crate) deferred: Deferred,
    entries: Mutex<Vec<Entry>>,
    pub(crate) overrides: Option<Box<[Option<Replacement>]>>,
    shutdown_timeout: Duration,
    _registry: PhantomData<fn() -> R>,
}

impl<R: Registry> AppInner<R> {
    pub(crate) fn store(&self, index: usize, erased: Erased) -> Stored {
        let provider = &R::PROVIDERS[index];
        let (value, entry) = erased.into_entry(provider.name(), provider.teardown_timing(), None);
        // Only the build sets app values, one provider at a time.
        let _already = self.values[index].set(Arc::clone(&value));
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
        value
    }

    fn take_entries(&self) -> Vec<Entry> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<R: Registry> Drop for AppInner<R> {
    fn drop(&mut self) {
        let entries = self.entries.get_mut().unwrap_or_else(PoisonError::into_inner);
        let skipped: Vec<_> = entries.iter().filter(|e| e.has_teardown()).map(|e| e.provider).collect();
        if !skipped.is_empty() {
            tracing::warn!(
                providers = ?skipped,
                "app container dropped without `shutdown()`: app-scoped teardown did not run"
            );
        }
    }
}

impl<R: Registry> App<R> {
    /// Starts building an app container.
    #[must_use]
    pub fn builder() -> AppBuilder<R> {
        AppBuilder { overrides: None, shutdown_timeout: Duration::from_secs(30), _registry: PhantomData }
    }

    pub(crate) fn inner(&self) -> &AppInner<R> {
        &self.inner
    }

    /// Runs the health checks of the app-scoped values that have one
    /// (`#[provider(scope = app, health = ..)]`), concurrently, each bounded by
    /// `timeout`.
    pub async fn health(&self, timeout: Duration) -> crate::HealthReport {
        crate::health::run::<R>(&self.inner.values, timeout).await
    }

    /// The dependency graph of this app's providers (Mermaid or DOT).
    #[must_use]
    pub fn graph(&self) -> crate::Graph {
        crate::Graph::of::<R>()
    }

    /// Opens a scope by hand, outside HTTP: for a CLI job, a worker, a test.
    ///
    /// Providers that take HTTP extractors cannot run in it (resolving them
    /// returns an error naming the extractor).
    #[must_use]
    pub fn scope(&self) -> Scope<R> {
        Scope::new(self.clone())
    }

    /// The app-scoped `T` (for request-scoped values, open a [`scope`](App::scope)).
    ///
    /// # Errors
    ///
    /// Never in practice: app-scoped values all exist from `build` on.
    pub async fn get<T>(&self) -> Result<crate::Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: Send + Sync + 'static,
        <R as Provides<T>>::Scope: InjectableInto<AppScope>,
    {
        let mut resolver = Resolver::new(&self.inner, None, None);
        match resolver.shared_now::<T>() {
            Some(ready) => ready,
            None => resolver.shared::<T>().await,
        }
    }

    /// Tears down every app-scoped value in reverse order of setup, with
    /// [`Outcome::Shutdown`].
    ///
    /// Waits (up to the builder's `shutdown_timeout`, 30 s by default) until
    /// every other handle of this container is gone: the router, open request
    /// scopes and background teardowns. Call it after the server has drained
    /// (the `serve` glue of the axum integration does).
    ///
    /// # Errors
    ///
    /// Every teardown that failed (all of them ran), or, after the timeout, the
    /// teardowns that could not run because their values were still in use.
    pub async fn shutdown(self) -> Result<(), TeardownErrors> {
        let deadline = Instant::now() + self.inner.shutdown_timeout;
        let inner = self.inner;
        let mut wait = Duration::from_millis(1);
        let inner = loop {
            if Arc::strong_count(&inner) == 1 || Instant::now() >= deadline {
                break inner;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(20));
        };
        if Arc::strong_count(&inner) > 1 {
            tracing::error!(
                handles = Arc::strong_count(&inner) - 1,
                "app shutdown timed out waiting for the other handles of the app container \
                 (a router, an open scope); tearing down anyway"
            );
        }
        // Request scopes are closed (each held a handle): finish their
        // background teardowns before the app-scoped values go.
        inner.deferred.drain(deadline).await;
        let mut entries = inner.take_entries();
        drop(inner);
        let mut errors = Vec::new();
        while let Some(entry) = entries.pop() {
            if entry.has_teardown() {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if tokio::time::timeout(remaining, entry.released()).await.is_err() {
                    tracing::error!(
                        provider = entry.provider,
                        "app-scoped value still in use at shutdown; its teardown did not run"
                    );
                    errors.push(TeardownError {
                        provider: entry.provider,
                        error: "value still in use at shutdown; teardown did not run".into(),
                    });
                    continue;
                }
            }
            if let Err(error) = entry.finish(Outcome::Shutdown).await {
                errors.push(error);
            }
        }
        TeardownErrors::report(errors)
    }
}

/// Configures and builds an [`App`].
///
/// Overrides replace a provider, of any scope, for this container only: tests
/// running in parallel can each build their own container with their own
/// overrides. Dependents of an overridden provider receive the override. A
/// container without overrides pays nothing for the feature.
pub struct AppBuilder<R: Registry> {
    overrides: Option<Box<[Option<Replacement>]>>,
    shutdown_timeout: Duration,
    _registry: PhantomData<fn() -> R>,
}

impl<R: Registry> AppBuilder<R> {
    /// Replaces the provider of `T` by clones of `value` (one per instance the
    /// provider's scope would create). The replaced provider and its
    /// dependencies do not run, and the value gets no teardown.
    #[must_use]
    pub fn override_value<T>(self, value: T) -> Self
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: StoreAs<T>,
        T: Clone + Send + Sync + 'static,
    {
        self.override_with::<T, _, _>(move || std::future::ready(value.clone()))
    }

    /// Replaces the provider of `T` by `make`, called once per instance the
    /// provider's scope would create. The value gets no teardown.
    #[must_use]
    pub fn override_with<T, F, Fut>(mut self, make: F) -> Self
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: StoreAs<T>,
        T: Send + 'static,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let kind = <<R as Provides<T>>::Scope as ScopeMarker>::KIND;
        let replacement: Replacement = Box::new(move || {
            let made = make();
            Box::pin(async move {
                Ok(<<R as Provides<T>>::Access as StoreAs<T>>::erase(Produced::value(made.await), kind))
            })
        });
        let overrides = self
            .overrides
            .get_or_insert_with(|| std::iter::repeat_with(|| None).take(R::PROVIDERS.len()).collect());
        overrides[<R as Provides<T>>::INDEX] = Some(replacement);
        self
    }

    /// How long [`App::shutdown`] waits for in-flight work (30 s by default).
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets up every app-scoped provider, dependencies first, and returns the
    /// container.
    ///
    /// # Errors
    ///
    /// The first app-scoped provider that fails, by name; the values set up
    /// before it are torn down (in reverse order) before this returns.
    pub async fn build(self) -> Result<App<R>, BuildError> {
        let inner = Arc::new(AppInner::<R> {
            values: std::iter::repeat_with(OnceLock::new).take(R::PROVIDERS.len()).collect(),
            deferred: Deferred::start(),
            entries: Mutex::new(Vec::new()),
            overrides: self.overrides,
            shutdown_timeout: self.shutdown_timeout,
            _registry: PhantomData,
        });
        let failure = {
            let mut resolver = Resolver::new(&inner, None, None);
            let mut failure = None;
            for (index, entry) in R::PROVIDERS.iter().enumerate() {
                if entry.scope() != ScopeKind::App {
                    continue;
                }
                let started = Instant::now();
                if let Err(error) = resolver.app_value(index).await {
                    failure = Some(error);
                    break;
                }
                tracing::debug!(
                    provider = entry.name(),
                    elapsed_us = started.elapsed().as_micros() as u64,
                    "app-scoped value ready"
                );
            }
            failure
        };
        let Some(source) = failure else {
            return Ok(App { inner });
        };
        tracing::error!(provider = source.provider(), error = %source, "app startup failed");
        let entries = inner.take_entries();
        drop(inner);
        let teardown = teardown_after_failed_build(entries).await.err();
        Err(BuildError { source, teardown })
    }
}

async fn teardown_after_failed_build(mut entries: Vec<Entry>) -> Result<(), TeardownErrors> {
    let mut errors = Vec::new();
    while let Some(entry) = entries.pop() {
        if let Err(error) = entry.finish(Outcome::SetupFailed).await {
            errors.push(error);
        }
    }
    TeardownErrors::report(errors)
}
