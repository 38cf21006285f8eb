//! Building the app container: overrides for tests, the shutdown timeout,
//! and the setup of every app-scoped value, dependencies first.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::app::{App, AppInner, Override, Replacement};
use crate::error::{BuildError, TeardownError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::{Provides, Registry, Setup};
use crate::resolver::Resolver;
use crate::scope::ScopeKind;
use crate::teardown::{Entry, StoreAs};

impl<R: Registry> App<R> {
    /// Starts building an app container.
    #[must_use]
    pub fn builder() -> AppBuilder<R> {
        AppBuilder {
            overrides: None,
            shutdown_timeout: Duration::from_secs(30),
            request_deadline: None,
            _registry: PhantomData,
        }
    }
}

/// Configures and builds an [`App`].
///
/// Overrides replace a provider, of any scope, for this container only: tests
/// running in parallel can each build their own container with their own
/// overrides. Dependents of an overridden provider receive the override. A
/// container without overrides pays nothing for the feature.
pub struct AppBuilder<R: Registry> {
    overrides: Option<Box<[Option<Override<R>>]>>,
    shutdown_timeout: Duration,
    request_deadline: Option<Duration>,
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
    pub fn override_with<T, F, Fut>(self, make: F) -> Self
    where
        R: Provides<T>,
        <R as Provides<T>>::Access: StoreAs<T>,
        T: Send + 'static,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let replacement: Replacement = Box::new(move || {
            let made = make();
            Box::pin(async move { Box::new(made.await) as Box<dyn Any + Send> })
        });
        self.replace(<R as Provides<T>>::INDEX, Override::Value(replacement))
    }

    /// Replaces the provider of `P::Output` by provider `P`, another
    /// `#[provider]` function of the same type, scope and access, named by
    /// the marker `#[provider]` puts beside it: `override_provider::<fake_mailer::Provider>()`.
    /// It is set up as any provider: its dependencies come from the registry
    /// (checked at compile time, as for a listed provider), and its teardown
    /// runs. Dependents of the replaced provider receive its value.
    ///
    /// `P` must not depend, directly or through others, on the type it
    /// replaces: that is a compile error when the program is built.
    #[must_use]
    pub fn override_provider<P>(self) -> Self
    where
        P: Setup<R>,
        R: Provides<P::Output, Scope = P::Scope, Access = P::Access>,
    {
        const {
            assert!(
                !crate::provider::reaches::<R>(P::DEPS, <R as Provides<P::Output>>::INDEX),
                "an override provider cannot depend, directly or through others, on the type it replaces"
            );
        }
        self.replace(
            <R as Provides<P::Output>>::INDEX,
            Override::Provider(crate::resolver::setup_replacing::<R, P>),
        )
    }

    fn replace(mut self, index: usize, with: Override<R>) -> Self {
        let overrides = self
            .overrides
            .get_or_insert_with(|| std::iter::repeat_with(|| None).take(R::PROVIDERS.len()).collect());
        overrides[index] = Some(with);
        self
    }

    /// How long a shutdown waits for work in progress (30 s by default): the
    /// deadline of [`App::shutdown`], and of the axum integration's `serve`
    /// from the shutdown signal on. See [`App::shutdown_by`].
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The deadline of every request, from its arrival (none by default): a
    /// request whose response is not ready `deadline` after it arrived is
    /// cut, its setup and handler cancelled, answered `503` and its values
    /// torn down with [`Outcome::TimedOut`]. Providers and handlers read it as
    /// the `Deadline` extractor; the database providers bound their waits by
    /// it. A route overrides it with the axum integration's `RequestDeadline`
    /// layer (see the guide's databases page, "Request deadlines").
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_providers::prelude::*;
    ///
    /// pub struct Greeting(&'static str);
    ///
    /// #[provider(scope = app)]
    /// fn greeting() -> Greeting { Greeting("hello") }
    ///
    /// #[providers(greeting)]
    /// struct AppProviders;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let app = App::<AppProviders>::builder().request_deadline(Duration::from_secs(2)).build().await?;
    /// assert_eq!(app.request_deadline(), Some(Duration::from_secs(2)));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn request_deadline(mut self, deadline: Duration) -> Self {
        self.request_deadline = Some(deadline);
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
        let mut inner = AppInner::<R>::new(self.overrides, self.shutdown_timeout);
        inner.request_deadline = self.request_deadline;
        let inner = Arc::new(inner);
        let failure = {
            let mut resolver = Resolver::new(&inner, None, None);
            let mut failure = None;
            for (index, entry) in R::PROVIDERS.iter().enumerate() {
                if entry.scope() != ScopeKind::App {
                    continue;
                }
                let started = Instant::now();
                if let Err(error) = resolver.ensure_index(index).await {
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
            inner.mark_built();
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
        let provider = entry.provider;
        let result = match entry.start(Outcome::SetupFailed, false) {
            Ok(Some(running)) => running.finish().await,
            Ok(None) => Ok(()),
            // Nothing waits for a value still held when the build failed.
            Err(_held) => {
                Err(TeardownError { provider, error: "value still in use; teardown did not run".into() })
            }
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }
    TeardownErrors::report(errors)
}
