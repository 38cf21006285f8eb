//! Resolution of provided values: the value in its slot when it was set up
//! already, its provider run otherwise: on the spot for a plain `fn` whose
//! dependencies are ready, through its boxed future for the others.

use std::any::Any;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tracing::Instrument as _;

use crate::app::AppInner;
use crate::app::Override;
use crate::concurrent::HeadLender;
use crate::dep::{Dep, DepMut};
use crate::error::ProviderError;
use crate::held::{Cell, ExclusiveCell, SharedCell};
use crate::open_scope::ScopeInner;
use crate::provider::{Provider, Provides, Registry, Setup};
use crate::scope::{AppValue, ScopeKind, ScopeMarker};
use crate::teardown::{BoxFuture, Entry, ExclusiveValue, Lendable, Produced, SharedValue, StoreAs, Stored};

/// Resolves provided values for one consumer at a time.
///
/// Generated provider code receives one in `Setup::setup`; the axum
/// extractors build one per extraction. It borrows the app container, the
/// current scope (none while the app is being built) and, for HTTP, the
/// request's parts as an opaque context.
pub struct Resolver<'r, R: Registry> {
    pub(crate) app: &'r AppInner<R>,
    pub(crate) scope: Option<&'r ScopeInner<R>>,
    pub(crate) context: RequestHead<'r>,
    /// Where to give the request's head back early, when values are set up
    /// together ([`done_with_request`](Self::done_with_request)).
    pub(crate) lender: Option<&'r HeadLender<'r>>,
}

/// What providers may borrow from the request: for HTTP, its head.
pub(crate) type RequestHead<'r> = Option<&'r mut (dyn Any + Send)>;

impl<'r, R: Registry> Resolver<'r, R> {
    pub(crate) fn new(
        app: &'r AppInner<R>,
        scope: Option<&'r ScopeInner<R>>,
        context: RequestHead<'r>,
    ) -> Self {
        Self { app, scope, context, lender: None }
    }

    /// A resolver over `scope`, with `context` (the request's parts, for
    /// providers that use the request).
    pub(crate) fn in_scope(scope: &'r ScopeInner<R>, context: Option<&'r mut (dyn Any + Send)>) -> Self {
        Self { app: scope.app().inner(), scope: Some(scope), context, lender: None }
    }

    /// The context of the current scope (for HTTP: the request's `Parts`), if it
    /// has one of type `C`. Scopes opened by hand have none.
    pub fn context_mut<C: Any>(&mut self) -> Option<&mut C> {
        self.context.as_deref_mut()?.downcast_mut::<C>()
    }

    /// Called by a provider's generated setup once its extractors ran (a
    /// provider that borrows a part of the request does not call it): while
    /// values are set up together, the request's head goes back to the
    /// others that wait for it.
    #[doc(hidden)]
    pub fn done_with_request(&mut self) {
        if let Some(lender) = self.lender.take() {
            lender.give_back(self.context.take());
        }
    }

    /// Shared access to the `T` of this scope, setting it up (and its
    /// dependencies) on first use.
    ///
    /// # Errors
    ///
    /// When a provider on the way fails, or `T` is provided for exclusive use.
    pub async fn shared<T>(&mut self) -> Result<Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: SharedValue,
    {
        let handle = match self.in_slot::<T>() {
            Some(handle) => handle,
            None => {
                let stored = self.resolve(<R as Provides<T>>::INDEX).await?;
                self.found::<T>(stored)?
            }
        };
        // An exclusive value is in an `ExclusiveCell`.
        match handle.downcast::<SharedCell<T>>() {
            Ok(cell) => Ok(Dep::from_cell(cell)),
            Err(_) => Err(not_shareable(<R as Provides<T>>::NAME)),
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
        <R as Provides<T>>::Access: Lendable<T>,
        T: ExclusiveValue,
    {
        self.lend::<T>().await
    }

    /// [`exclusive`](Self::exclusive) without the compile-time check that
    /// `T` can be lent: `#[provider]` checks it while the registry's table is
    /// evaluated, to report a mistake at the provider's parameter.
    #[doc(hidden)]
    pub async fn lend<T>(&mut self) -> Result<DepMut<T>, ProviderError>
    where
        R: Provides<T>,
        T: ExclusiveValue,
    {
        let name = <R as Provides<T>>::NAME;
        if <<R as Provides<T>>::Scope as ScopeMarker>::KIND == ScopeKind::App {
            return Err(not_lendable(name));
        }
        let handle = match self.in_slot::<T>() {
            Some(handle) => handle,
            None => {
                let stored = self.resolve(<R as Provides<T>>::INDEX).await?;
                self.found::<T>(stored)?
            }
        };
        // A shared value is in a `SharedCell`.
        match handle.downcast::<ExclusiveCell<T>>() {
            Ok(cell) => {
                DepMut::lend(cell).ok_or_else(|| ProviderError::exclusive(name, std::any::type_name::<T>()))
            }
            Err(_) => Err(not_lendable(name)),
        }
    }

    /// The value of the provider of `T` in its slot: a request value of an
    /// open scope, an app value whose teardown has not started.
    #[inline]
    fn in_slot<T>(&self) -> Option<Stored>
    where
        R: Provides<T>,
    {
        match <<R as Provides<T>>::Scope as ScopeMarker>::KIND {
            ScopeKind::App => R::slot(&self.app.slots).get(!self.app.is_tearing_down()),
            ScopeKind::Request => {
                let scope = self.scope?;
                if scope.is_closed() {
                    return None;
                }
                R::slot(&scope.slots).get(true)
            }
            ScopeKind::Transient => None,
        }
    }

    /// The value of the provider of `T` just set up: in its slot, or handed
    /// back (transient).
    fn found<T>(&self, stored: Option<Stored>) -> Result<Stored, ProviderError>
    where
        R: Provides<T>,
    {
        stored.or_else(|| self.in_slot::<T>()).ok_or_else(|| {
            ProviderError::internal(<R as Provides<T>>::NAME, "the value just set up was not found")
        })
    }

    /// Sets up the value of provider `index`, which its slot does not hold,
    /// or says why it cannot be had: on the spot when it can, through its
    /// future otherwise. A transient value is handed back; the others are
    /// in their slot.
    async fn resolve(&mut self, index: usize) -> Result<Option<Stored>, ProviderError> {
        let entry = &R::PROVIDERS[index];
        let name = entry.name();
        match (entry.scope(), self.scope) {
            (ScopeKind::App, _) if self.app.was_set_up(index) => return Err(torn_down(name)),
            (ScopeKind::App, _) => {}
            (_, None) => return Err(at_build(name)),
            (_, Some(scope)) if scope.is_closed() => return Err(closed(name)),
            (_, Some(_)) => {}
        }
        if let Some(setup_now) = entry.setup_now.filter(|_| self.sets_up_now(index)) {
            let result = setup_now(self);
            return self.noted(result);
        }
        // Its dependencies that wait, and do not wait for each other, are set
        // up together first.
        if self.app.plan.together(index) {
            self.set_up_together(&[index], false).await?;
        }
        let result = self.boxed_setup(index).await;
        self.noted(result)
    }

    /// Records a provider failure in the scope.
    pub(crate) fn noted<V>(&self, result: Result<V, ProviderError>) -> Result<V, ProviderError> {
        if let (Err(error), Some(scope)) = (&result, self.scope)
            && error.is_setup_failure()
        {
            scope.mark_setup_failed();
        }
        result
    }

    /// `true` when provider `index` can be set up on the spot: a plain `fn`
    /// (no override, no span to record) whose dependencies are all ready or
    /// can themselves be set up on the spot. Decided before anything is set
    /// up, so that a future is never started and then dropped.
    pub(crate) fn sets_up_now(&self, index: usize) -> bool {
        let entry = &R::PROVIDERS[index];
        entry.setup_now.is_some()
            && !self.overridden(index)
            && !self.traced()
            && entry.deps().iter().all(|&dep| self.available_now(dep))
    }

    fn available_now(&self, index: usize) -> bool {
        let entry = &R::PROVIDERS[index];
        match (entry.scope(), self.scope) {
            // Every app-scoped value exists once the app is built (after its
            // teardown, asking for it fails at once, without waiting).
            (ScopeKind::App, _) => {
                self.app.is_built() || (entry.is_set)(&self.app.slots) || self.sets_up_now(index)
            }
            (ScopeKind::Request, Some(scope)) => (entry.is_set)(&scope.slots) || self.sets_up_now(index),
            // A transient dependency is made for its consumer: never on the
            // spot, where a failure would leave one made for nothing.
            _ => false,
        }
    }

    fn overridden(&self, index: usize) -> bool {
        self.app.overrides.as_ref().is_some_and(|overrides| overrides[index].is_some())
    }

    fn traced(&self) -> bool {
        match self.scope {
            Some(scope) => scope.traced(),
            None => tracing::enabled!(tracing::Level::DEBUG),
        }
    }

    /// Sets up the value of provider `index` in this scope if it is not there
    /// yet, without handing it out: for side-effect and app-wide providers.
    ///
    /// # Errors
    ///
    /// When the provider (or one of its dependencies) fails.
    pub async fn ensure_index(&mut self, index: usize) -> Result<(), ProviderError> {
        let entry = &R::PROVIDERS[index];
        let set = match (entry.scope(), self.scope) {
            (ScopeKind::App, _) => (entry.is_set)(&self.app.slots),
            (ScopeKind::Request, Some(scope)) => (entry.is_set)(&scope.slots),
            _ => false,
        };
        if set {
            return Ok(());
        }
        self.resolve(index).await.map(drop)
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
    pub(crate) fn boxed_setup(
        &mut self,
        index: usize,
    ) -> BoxFuture<'_, Result<Option<Stored>, ProviderError>> {
        let entry = &R::PROVIDERS[index];
        let overridden = self.overridden(index);
        // A span only when someone listens: creating one costs even when no
        // subscriber wants it (a dependency may turn on `tracing`'s `log` bridge).
        let spanned = self.traced();
        let future = (entry.setup)(self);
        if !spanned {
            return future;
        }
        Box::pin(traced(future, entry.name(), entry.scope(), overridden))
    }

    /// Keeps what provider `P` produced: a request value in the scope (its
    /// entry owns it, its slot lends it), a transient one in the scope and
    /// handed back, an app value in the container.
    fn keep<P: Provider>(&mut self, produced: Produced<P::Output>) -> Result<Option<Stored>, ProviderError>
    where
        R: Provides<P::Output>,
    {
        let Produced { value, teardown } = produced;
        let handle = Arc::new(<<P::Access as StoreAs<P::Output>>::Cell as Cell>::new(value));
        let kind = <P::Scope as ScopeMarker>::KIND;
        if kind == ScopeKind::App {
            // Owned by its slot, or, with a teardown, by its entry.
            let slot = R::slot(&self.app.slots);
            match teardown {
                None => slot.own(handle),
                Some(teardown) => {
                    slot.lend(Arc::downgrade(&handle) as Weak<dyn Any + Send + Sync>);
                    self.app.push(Entry::new(P::NAME, P::TEARDOWN, handle, Some(teardown)));
                }
            }
            return Ok(None);
        }
        let Some(scope) = self.scope else { return Err(at_build(P::NAME)) };
        scope.push(Entry::new(P::NAME, P::TEARDOWN, Arc::clone(&handle), teardown))?;
        match kind {
            ScopeKind::Request => {
                R::slot(&scope.slots).lend(Arc::downgrade(&handle) as Weak<dyn Any + Send + Sync>);
                Ok(None)
            }
            _ => Ok(Some(handle)),
        }
    }
}

impl<R: Registry> crate::App<R> {
    /// The app-scoped `T` (for request-scoped values, open a [`scope`](crate::App::scope)).
    ///
    /// The `Dep` keeps the value alive: a value with a teardown is torn down
    /// at [`shutdown`](crate::App::shutdown) only once its last `Dep` is
    /// dropped. A `Dep` still held when shutdown reaches that value makes it
    /// wait, with a warning naming the value at once, until the `Dep` is
    /// dropped or the shutdown deadline ([`shutdown_timeout`](crate::AppBuilder::shutdown_timeout),
    /// 30 s by default) and its grace pass; then its teardown does not run and
    /// `shutdown` returns an error naming the provider. Drop it before
    /// shutdown, or keep a clone of what you need:
    ///
    /// ```
    /// use axum_providers::prelude::*;
    ///
    /// #[derive(Clone)]
    /// pub struct Config { pub name: String }
    ///
    /// #[provider(scope = app)]
    /// fn config() -> Teardown<Config> {
    ///     Teardown::new(Config { name: "jobs".into() }, |_, _| async {})
    /// }
    ///
    /// #[providers(config)]
    /// struct AppProviders;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let app = App::<AppProviders>::builder().build().await?;
    /// let config: Config = app.get::<Config>().await?.clone(); // the `Dep` is dropped here
    /// assert_eq!(config.name, "jobs");
    /// app.shutdown().await?; // nothing holds the value: its teardown runs at once
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// After [`shutdown`](crate::App::shutdown), for a value whose teardown ran.
    /// (Before it, never: app-scoped values all exist from `build` on.)
    pub async fn get<T>(&self) -> Result<crate::Dep<T>, ProviderError>
    where
        R: Provides<T>,
        T: SharedValue,
        <R as Provides<T>>::Scope: AppValue<T>,
    {
        Resolver::new(self.inner(), None, None).shared::<T>().await
    }
}

/// Sets provider `P` up through its boxed future (or its override's).
pub(crate) fn setup_boxed<'a, 'r, R, P>(
    resolver: &'a mut Resolver<'r, R>,
) -> BoxFuture<'a, Result<Option<Stored>, ProviderError>>
where
    R: Provides<P::Output>,
    P: Setup<R>,
{
    Box::pin(async move {
        let replacement = resolver.app.overrides.as_ref().and_then(|all| all[R::INDEX].as_ref());
        let produced = match replacement {
            Some(Override::Provider(setup)) => return setup(resolver).await,
            Some(Override::Value(replace)) => match replace().await.downcast::<P::Output>() {
                Ok(value) => Produced::value(*value),
                Err(_) => {
                    return Err(ProviderError::internal(
                        P::NAME,
                        "the override made a value of another type",
                    ));
                }
            },
            None => P::setup(resolver).await?,
        };
        resolver.keep::<P>(produced)
    })
}

/// Sets provider `P` up in place of the provider of `P::Output` it overrides
/// (`AppBuilder::override_provider`): its own setup, without looking for an
/// override again.
pub(crate) fn setup_replacing<'a, 'r, R, P>(
    resolver: &'a mut Resolver<'r, R>,
) -> BoxFuture<'a, Result<Option<Stored>, ProviderError>>
where
    R: Provides<P::Output>,
    P: Setup<R>,
{
    Box::pin(async move {
        let produced = P::setup(resolver).await?;
        resolver.keep::<P>(produced)
    })
}

/// Sets provider `P` up on the spot: its future, polled once, finishes at
/// once, since [`Resolver::sets_up_now`] found every dependency ready.
pub(crate) fn setup_now<R, P>(resolver: &mut Resolver<'_, R>) -> Result<Option<Stored>, ProviderError>
where
    R: Provides<P::Output>,
    P: Setup<R>,
{
    let produced = {
        let future = pin!(P::setup(resolver));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(produced) => produced?,
            Poll::Pending => {
                return Err(ProviderError::internal(P::NAME, "set up on the spot, it had to wait"));
            }
        }
    };
    resolver.keep::<P>(produced)
}

const REQUEST_VALUE_AT_BUILD: &str = "a request-scoped value was requested while the app was being built";

fn at_build(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, REQUEST_VALUE_AT_BUILD)
}

fn closed(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "the scope is already closed")
}

fn torn_down(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "the app was shut down and this value was torn down")
}

fn not_shareable(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "an exclusive value cannot be shared with `Dep`")
}

fn not_lendable(provider: &'static str) -> ProviderError {
    ProviderError::internal(provider, "app-scoped values cannot be borrowed exclusively")
}

/// Runs a setup in a `provider.setup` span that records its duration and result.
async fn traced<F: Future<Output = Result<Option<Stored>, ProviderError>>>(
    future: F,
    provider: &'static str,
    scope: ScopeKind,
    overridden: bool,
) -> Result<Option<Stored>, ProviderError> {
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
