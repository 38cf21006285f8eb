//! Concurrent setup: the independent branches of what a consumer needs are
//! set up together, within the consumer's own task (no task is spawned per
//! provider).
//!
//! The app container computes a [`Plan`] once, from the registry's table of
//! dependencies: for each provider, the request-scoped providers that must be
//! set up before it. When a consumer needs at least two missing values that
//! wait (an `async fn` provider, an override, one that takes a request
//! extractor) and do not depend on each other, [`Resolver::set_up_together`]
//! sets up every missing value, each as soon as the values it needs are
//! ready, polling the setups in progress side by side. Each value is still
//! set up once per request: only the scheduler starts setups while it runs,
//! and a setup starts once everything it asks for is in its slot.
//!
//! Two kinds of setup wait for each other instead of running side by side:
//! those that use the request's head, which one setup at a time may hold (a
//! provider with extractors gives it back once they ran,
//! [`Resolver::done_with_request`]; one that borrows a part of the request
//! keeps it to the end), and those that borrow an exclusive value
//! (`DepMut<T>`, which one consumer at a time may hold).
//!
//! Teardown order stays the reverse of setup: a value's teardown entry is
//! recorded when its setup completes, so values are torn down in the reverse
//! order of setup completion, and a value always after every value that
//! depends on it (a dependent completes after its dependencies).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use crate::app::Override;
use crate::error::ProviderError;
use crate::provider::Registry;
use crate::resolver::{RequestHead, Resolver};
use crate::scope::ScopeKind;
use crate::teardown::Stored;
use parking_lot::Mutex;

/// What the scheduler knows about each provider of a registry, for one app
/// container (overrides change it).
pub(crate) struct Plan {
    providers: Box<[Planned]>,
}

#[derive(Default)]
struct Planned {
    /// The request-scoped providers to set up before this one: its
    /// request-scoped dependencies, and those of the transient values made
    /// for it in its setup (recursively), in the order of its parameters.
    before: Box<[usize]>,
    /// Every request-scoped provider below it (`before`, transitively), sorted.
    below: Box<[usize]>,
    /// Its setup waits: an `async fn`, a provider that takes an extractor, an
    /// override.
    waits: bool,
    /// Its setup (or that of a transient value made for it) uses the
    /// request's head, which one setup at a time holds: from its start until
    /// its extractors ran, or its end.
    uses_request: bool,
    /// A transient value made in its setup uses the request's head: it keeps
    /// the head until its setup ends.
    keeps_request: bool,
    /// Its setup (or that of a transient value made for it) borrows an
    /// exclusive value: one such setup runs at a time.
    borrows: bool,
    /// How many of the providers below it wait.
    waiting_below: usize,
    /// Overridden by another provider, whose dependencies the plan does not
    /// know: a consumer that needs it is set up one value after the other.
    opaque: bool,
    /// Two of the providers below it that wait are independent: worth setting
    /// its dependencies up together.
    together: bool,
}

impl Plan {
    /// The plan of registry `R` with `overrides`.
    pub(crate) fn new<R: Registry>(overrides: Option<&[Option<Override<R>>]>) -> Self {
        let count = R::PROVIDERS.len();
        let mut builder = PlanBuilder::<R> {
            overrides,
            providers: std::iter::repeat_with(Planned::default).take(count).collect(),
            state: vec![Visit::New; count],
        };
        for index in 0..count {
            builder.visit(index);
        }
        let mut providers = builder.providers;
        for index in 0..count {
            let together = independent_pair(&providers, &providers[index].below);
            let opaque = providers[index].below.iter().any(|&below| providers[below].opaque);
            providers[index].together = together && !opaque;
        }
        Self { providers }
    }

    /// `false` when fewer than two of the providers that consumers of
    /// `roots` need wait, whether set or not: nothing to set up together (a
    /// look at the plan, no allocation).
    #[inline]
    pub(crate) fn may_set_up_together(&self, roots: &[usize], with_roots: bool) -> bool {
        let waiting: usize = roots
            .iter()
            .map(|&root| {
                let planned = &self.providers[root];
                planned.waiting_below + usize::from(with_roots && planned.waits)
            })
            .sum();
        waiting >= 2
    }

    /// Whether the dependencies of provider `index` are worth setting up
    /// together (when they are all missing).
    #[inline]
    pub(crate) fn together(&self, index: usize) -> bool {
        self.providers[index].together
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    Visiting,
    Done,
}

struct PlanBuilder<'o, R: Registry> {
    overrides: Option<&'o [Option<Override<R>>]>,
    providers: Box<[Planned]>,
    state: Vec<Visit>,
}

impl<R: Registry> PlanBuilder<'_, R> {
    fn visit(&mut self, index: usize) {
        // Done, or a cycle (which the registry's compile-time check
        // rejects): planned without it.
        if self.state[index] != Visit::New {
            return;
        }
        self.state[index] = Visit::Visiting;
        let entry = &R::PROVIDERS[index];
        let replaced = self.overrides.and_then(|overrides| overrides[index].as_ref());
        let mut before = Vec::new();
        let mut keeps_request = false;
        let mut borrows = false;
        for &dep in entry.deps() {
            self.visit(dep);
            let dep_entry = &R::PROVIDERS[dep];
            match dep_entry.scope() {
                ScopeKind::App => {}
                ScopeKind::Request => {
                    before.push(dep);
                    borrows |= dep_entry.is_exclusive();
                }
                ScopeKind::Transient => {
                    before.extend_from_slice(&self.providers[dep].before);
                    // A transient value made for this one is set up in its
                    // setup: what that setup uses, this one uses.
                    keeps_request |= self.providers[dep].uses_request;
                    borrows |= self.providers[dep].borrows || dep_entry.is_exclusive();
                }
            }
        }
        // In the order of the provider's parameters, each once.
        let mut seen = Vec::with_capacity(before.len());
        before.retain(|&dep| {
            let new = !seen.contains(&dep);
            seen.push(dep);
            new
        });
        let mut below = before.clone();
        for &dep in &before {
            below.extend_from_slice(&self.providers[dep].below);
        }
        below.sort_unstable();
        below.dedup();
        let waiting_below = below.iter().filter(|&&dep| self.providers[dep].waits).count();
        let planned = &mut self.providers[index];
        planned.waiting_below = waiting_below;
        planned.before = before.into_boxed_slice();
        planned.below = below.into_boxed_slice();
        planned.waits = entry.setup_now.is_none() || replaced.is_some();
        planned.uses_request = entry.uses_request() || keeps_request;
        planned.keeps_request = keeps_request;
        planned.borrows = borrows;
        planned.opaque = matches!(replaced, Some(Override::Provider(_)));
        self.state[index] = Visit::Done;
    }
}

/// Whether two providers of `set` wait and do not depend on each other.
fn independent_pair(providers: &[Planned], set: &[usize]) -> bool {
    let waiting = || set.iter().copied().filter(|&index| providers[index].waits);
    waiting().enumerate().any(|(position, a)| {
        waiting().skip(position + 1).any(|b| {
            providers[a].below.binary_search(&b).is_err() && providers[b].below.binary_search(&a).is_err()
        })
    })
}

/// Adds `index` to `todo` after what it needs, unless it is set or there
/// already: a depth-first walk, dependencies first.
fn missing_below(plan: &[Planned], index: usize, is_set: &impl Fn(usize) -> bool, todo: &mut Vec<usize>) {
    if is_set(index) || todo.contains(&index) {
        return;
    }
    for &dep in plan[index].before.iter() {
        missing_below(plan, dep, is_set, todo);
    }
    todo.push(index);
}

/// A setup in progress: the provider and its result.
type InFlight<'a> = Pin<Box<dyn Future<Output = (usize, Result<Option<Stored>, ProviderError>)> + Send + 'a>>;

/// The request's head while values are set up together: lent to one setup at
/// a time, which gives it back when its extractors ran
/// ([`Resolver::done_with_request`]) or when it ends.
pub(crate) struct HeadLender<'a> {
    /// `Some` while nobody holds it (`Some(None)`: a scope without a request).
    head: Mutex<Option<RequestHead<'a>>>,
}

impl<'a> HeadLender<'a> {
    fn lend(&self) -> Option<RequestHead<'a>> {
        self.head.lock().take()
    }

    pub(crate) fn give_back(&self, head: RequestHead<'a>) {
        *self.head.lock() = Some(head);
    }

    fn is_free(&self) -> bool {
        self.head.lock().is_some()
    }
}

impl<'r, R: Registry> Resolver<'r, R> {
    /// Sets up, together, the request-scoped values that consumers of the
    /// providers `roots` need and the scope does not hold yet: the roots
    /// themselves when `with_roots`, and everything below them. Each value is
    /// set up as soon as the values it needs are ready; setups in progress are
    /// polled side by side in this task. Does nothing (and the values are set
    /// up one after the other as they are asked for) unless two missing
    /// values that wait are independent, or outside a request scope.
    ///
    /// # Errors
    ///
    /// The first setup that fails; the setups still in progress then are
    /// dropped (what they had set up before is torn down with the scope).
    pub async fn set_up_together(&mut self, roots: &[usize], with_roots: bool) -> Result<(), ProviderError> {
        let Some(scope) = self.scope else { return Ok(()) };
        if scope.is_closed() {
            return Ok(());
        }
        if !self.app.plan.may_set_up_together(roots, with_roots) {
            return Ok(());
        }
        let plan = &self.app.plan.providers;
        let is_set = |index: usize| (R::PROVIDERS[index].is_set)(&scope.slots);
        // Dependencies first, in the order they are asked for: when nothing
        // actually waits, values are set up in the same order as one after
        // the other.
        let mut todo: Vec<usize> = Vec::new();
        for &root in roots {
            match R::PROVIDERS[root].scope() {
                ScopeKind::App => {}
                ScopeKind::Request if with_roots => missing_below(plan, root, &is_set, &mut todo),
                _ => {
                    for &dep in plan[root].before.iter() {
                        missing_below(plan, dep, &is_set, &mut todo);
                    }
                }
            }
        }
        if todo.iter().any(|&index| plan[index].opaque) || !independent_pair(plan, &todo) {
            return Ok(());
        }
        let result = self.run_together(todo).await;
        self.noted(result)
    }

    /// Sets up every provider of `todo` (request-scoped, not set yet, each
    /// with everything it needs either set or in `todo`).
    async fn run_together(&mut self, mut todo: Vec<usize>) -> Result<(), ProviderError> {
        let app = self.app;
        let Some(scope) = self.scope else { return Ok(()) };
        let plan = &app.plan.providers;
        let lender = HeadLender { head: Mutex::new(Some(self.context.as_deref_mut())) };
        let lender = &lender;
        // Whether a setup that borrows an exclusive value is in progress.
        let mut borrowing = false;
        let mut in_flight: Vec<InFlight<'_>> = Vec::with_capacity(todo.len());
        let result = loop {
            // Start every setup whose values are ready, in order.
            let mut position = 0;
            while position < todo.len() {
                let index = todo[position];
                let planned = &plan[index];
                let ready = planned.before.iter().all(|&dep| (R::PROVIDERS[dep].is_set)(&scope.slots));
                if !ready || (planned.borrows && borrowing) || (planned.uses_request && !lender.is_free()) {
                    position += 1;
                    continue;
                }
                todo.remove(position);
                borrowing |= planned.borrows;
                let uses_request = planned.uses_request;
                let head = if uses_request { lender.lend().flatten() } else { None };
                // It may give the head back once its extractors ran, unless
                // a transient value made in its setup needs it later.
                let early = uses_request && !planned.keeps_request;
                in_flight.push(Box::pin(async move {
                    let mut resolver = Resolver::new(app, Some(scope), head);
                    resolver.lender = early.then_some(lender);
                    let result = resolver.set_up_planned(index).await;
                    // Still holding the head: give it back now.
                    if uses_request && (resolver.lender.is_some() || !early) {
                        lender.give_back(resolver.context.take());
                    }
                    (index, result)
                }));
            }
            if in_flight.is_empty() {
                // Nothing left, or nothing can start: the rest is set up on
                // demand, one after the other.
                break Ok(());
            }
            // Wait for a setup to finish or to give the request's head back.
            let head_was_free = lender.is_free();
            let finished = poll_fn(|cx| {
                let mut finished = Vec::new();
                let mut position = 0;
                while position < in_flight.len() {
                    match in_flight[position].as_mut().poll(cx) {
                        Poll::Ready(output) => {
                            drop(in_flight.remove(position));
                            finished.push(output);
                        }
                        Poll::Pending => position += 1,
                    }
                }
                if finished.is_empty() && lender.is_free() == head_was_free {
                    Poll::Pending
                } else {
                    Poll::Ready(finished)
                }
            })
            .await;
            let mut failure = None;
            for (index, result) in finished {
                if plan[index].borrows {
                    borrowing = false;
                }
                if let Err(error) = result {
                    failure.get_or_insert(error);
                }
            }
            if let Some(error) = failure {
                break Err(error);
            }
        };
        // Setups still in progress after a failure are dropped here.
        drop(in_flight);
        result
    }

    /// Sets up provider `index` (its dependencies are ready), on the spot
    /// when it can be.
    async fn set_up_planned(&mut self, index: usize) -> Result<Option<Stored>, ProviderError> {
        if let Some(setup_now) = R::PROVIDERS[index].setup_now.filter(|_| self.sets_up_now(index)) {
            return setup_now(self);
        }
        self.boxed_setup(index).await
    }
}
