//! An open scope, in one allocation: the slots where its values are found,
//! and their teardown entries in setup order, taken when it closes.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;

use crate::app::App;
use crate::closing::{Closed, Closing, OnFailure, OutcomeSender, Teardowns};
use crate::deferred::Job;
use crate::error::{ProviderError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::Registry;
use crate::slot::SlotTable;
use crate::teardown::{Entry, TeardownTiming};

/// An open scope, in one allocation: the slots where its request values are
/// found, and their teardown entries in setup order.
pub(crate) struct ScopeInner<R: Registry> {
    app: App<R>,
    /// One slot per provider of the registry (those of request providers used).
    pub(crate) slots: R::Slots,
    /// Mirrors `state.closed`, read without the lock by lookups.
    closed: AtomicBool,
    state: Mutex<ScopeState>,
    traced: Traced,
}

/// Whether setup and teardown spans are recorded in a scope: asked of
/// `tracing` once per scope, on first need. (`tracing::enabled!` costs a
/// dispatcher lookup when no subscriber filters the level out statically,
/// which is every call when none is installed.)
#[derive(Default)]
pub(crate) struct Traced(AtomicU8); // 0: not asked yet, then `NO` or `YES`

impl Traced {
    const NO: u8 = 1;
    const YES: u8 = 2;

    #[inline]
    pub(crate) fn get(&self) -> bool {
        match self.0.load(Ordering::Relaxed) {
            Self::NO => false,
            Self::YES => true,
            _ => {
                let traced = tracing::enabled!(tracing::Level::DEBUG);
                self.0.store(if traced { Self::YES } else { Self::NO }, Ordering::Relaxed);
                traced
            }
        }
    }
}

#[derive(Default)]
struct ScopeState {
    /// Every value set up in this scope, in setup order: the entries own
    /// the values, which they take back at close for their teardown.
    order: Vec<Entry>,
    setup_failed: bool,
    closed: bool,
    /// The outcome of an upgraded connection (a WebSocket), told later by
    /// whoever serves it ([`SharedScope::decide_outcome_later`](crate::SharedScope::decide_outcome_later)).
    later: Option<oneshot::Receiver<Outcome>>,
}

impl<R: Registry> ScopeInner<R> {
    pub(crate) fn new(app: App<R>) -> Self {
        app.inner().scopes.open();
        Self {
            app,
            slots: R::Slots::empty(),
            closed: AtomicBool::new(false),
            state: Mutex::new(ScopeState::default()),
            traced: Traced::default(),
        }
    }

    /// Whether spans are recorded in this scope.
    pub(crate) fn traced(&self) -> bool {
        self.traced.get()
    }

    fn state(&self) -> MutexGuard<'_, ScopeState> {
        self.state.lock()
    }

    /// The app container the scope belongs to.
    pub(crate) fn app(&self) -> &App<R> {
        &self.app
    }

    /// Remembers a value set up in this scope. A scope closed while the value
    /// was being set up (its request was cancelled, a lazy value was asked for
    /// too late) gets the value torn down at once, on the app's worker.
    pub(crate) fn push(&self, entry: Entry) -> Result<(), ProviderError> {
        let mut state = self.state();
        if state.closed {
            drop(state);
            let provider = entry.provider;
            self.app.inner().deferred.send(Job::new(vec![entry], Outcome::Cancelled.into()));
            return Err(ProviderError::internal(provider, "the scope closed while this value was set up"));
        }
        if state.order.capacity() == 0 {
            state.order.reserve_exact(4);
        }
        state.order.push(entry);
        Ok(())
    }

    pub(crate) fn mark_setup_failed(&self) {
        self.state().setup_failed = true;
    }

    pub(crate) fn setup_failed(&self) -> bool {
        self.state().setup_failed
    }

    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the scope closed and takes its entries, with the outcome adjusted
    /// for a provider failure in this scope, and the outcome to be told later.
    fn take_entries(&self, outcome: Outcome) -> Option<Taken> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        state.closed = true;
        self.closed.store(true, Ordering::Release);
        let outcome = match outcome {
            Outcome::Success | Outcome::ErrorResponse { .. } if state.setup_failed => Outcome::SetupFailed,
            other => other,
        };
        Some(Taken { entries: std::mem::take(&mut state.order), outcome, later: state.later.take() })
    }

    /// See [`SharedScope::decide_outcome_later`](crate::SharedScope::decide_outcome_later).
    pub(crate) fn decide_outcome_later(&self) -> OutcomeSender {
        let (sender, receiver) = oneshot::channel();
        self.state().later = Some(receiver);
        OutcomeSender(sender)
    }

    /// Closes the scope before the response is sent: tears down, in reverse
    /// order of setup, everything from the first before-response value on
    /// (everything when `all`), polling each teardown with `cx`.
    ///
    /// `Ok` with the failures and what is left for after the response (the
    /// after-response values set up before every before-response one) when
    /// every teardown finished at once, or `Err` with the teardowns still to
    /// poll ([`Closing::poll_close`]); the one in progress has registered
    /// `cx`'s waker.
    pub(crate) fn close(
        &self,
        outcome: Outcome,
        all: bool,
        cx: &mut Context<'_>,
    ) -> Result<Closed<R>, Box<Closing<R>>> {
        let Some(Taken { entries, outcome, later }) = self.take_entries(outcome) else {
            return Ok(Closed::nothing(outcome));
        };
        let (stop, on_failure) = match all {
            true => (0, OnFailure::Fail),
            false => (
                entries
                    .iter()
                    .position(|entry| entry.has_teardown() && entry.timing == TeardownTiming::BeforeResponse)
                    .unwrap_or(entries.len()),
                OnFailure::Respond,
            ),
        };
        let mut teardowns = Teardowns::new(entries, stop, outcome, on_failure, self.traced());
        teardowns.later = later;
        match teardowns.poll_advance(cx) {
            Poll::Ready(()) => Ok(teardowns.finish(&self.app)),
            Poll::Pending => Err(Box::new(Closing { app: self.app.clone(), teardowns })),
        }
    }

    /// Closes the scope and runs every teardown before returning (scopes opened
    /// by hand).
    pub(crate) async fn close_all(&self, outcome: Outcome) -> Result<(), TeardownErrors> {
        let mut closing = None;
        let closed = std::future::poll_fn(|cx| match closing.as_mut() {
            None => match self.close(outcome, true, cx) {
                Ok(closed) => Poll::Ready(closed),
                Err(pending) => {
                    closing = Some(pending);
                    Poll::Pending
                }
            },
            Some(pending) => pending.poll_close(cx),
        })
        .await;
        // Values still held by a `Dep` go to the app's worker, with the final outcome.
        if let Some(remainder) = closed.after_response {
            remainder.finish(closed.outcome);
        }
        closed.errors
    }

    /// Closes the scope without waiting: teardown runs on the app's worker.
    pub(crate) fn abandon(&self, outcome: Outcome) {
        if let Some(Taken { entries, outcome, .. }) = self.take_entries(outcome) {
            self.app.inner().deferred.send(Job::new(entries, outcome.into()));
        }
    }
}

impl<R: Registry> Drop for ScopeInner<R> {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if !state.closed && !state.order.is_empty() {
            state.closed = true;
            let entries = std::mem::take(&mut state.order);
            self.app.inner().deferred.send(Job::new(entries, Outcome::Cancelled.into()));
        }
        self.app.inner().scopes.close();
    }
}

/// What a scope held when it closed.
struct Taken {
    entries: Vec<Entry>,
    outcome: Outcome,
    later: Option<oneshot::Receiver<Outcome>>,
}
