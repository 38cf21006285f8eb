//! Closing a scope: its teardowns in reverse order of setup with the
//! outcome, what a failing teardown makes of a success, and the teardowns
//! left for after the response.

use std::task::{Context, Poll, ready};

use tokio::sync::oneshot;

use crate::app::App;
use crate::deferred::{Job, JobOutcome};
use crate::error::{ResponsePayload, TeardownError, TeardownErrors};
use crate::outcome::Outcome;
use crate::provider::Registry;
use crate::teardown::{Entry, Running};

/// What a teardown failure makes of a success, for the teardowns after it.
#[derive(Clone, Copy)]
pub(crate) enum OnFailure {
    /// Before the response: the response becomes the failure's
    /// ([`Respond`](crate::Respond)) or a `500`, and so does the outcome.
    Respond,
    /// A scope closed by hand: [`Outcome::Failed`].
    Fail,
}

/// What closing the before-response part of a request scope produced
/// ([`SharedScope::close_before_response`](crate::SharedScope::close_before_response)).
pub struct Closed<R: Registry> {
    /// The teardown failures.
    pub errors: Result<(), TeardownErrors>,
    /// The outcome the last teardown saw: the one the scope was closed with,
    /// unless a teardown failure turned a success into an error.
    pub outcome: Outcome,
    /// Set when a teardown failure turned a success into an error response:
    /// send it instead of the handler's. Inside, the response the failure
    /// chose ([`Respond`](crate::Respond)), if any; without one, answer `500`.
    pub replaced: Option<Option<ResponsePayload>>,
    /// The teardowns left for after the response: hand them to the response's
    /// body, and [`finish`](AfterResponse::finish) them when it ends.
    pub after_response: Option<AfterResponse<R>>,
}

impl<R: Registry> Closed<R> {
    pub(crate) fn nothing(outcome: Outcome) -> Self {
        Self { errors: Ok(()), outcome, replaced: None, after_response: None }
    }
}

/// A scope being closed whose teardowns did not all finish at once: poll it
/// with [`poll_close`](Closing::poll_close). Dropped before it finished (the request's future was
/// dropped), what it had not run yet goes to the app's worker with
/// [`Outcome::Cancelled`].
pub(crate) struct Closing<R: Registry> {
    pub(crate) app: App<R>,
    pub(crate) teardowns: Teardowns,
}

impl<R: Registry> Closing<R> {
    /// Polls the teardowns left, last to first; once they are done, hands
    /// over what is left for after the response. Not to be polled again after
    /// it returned `Ready`.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Closed<R>> {
        ready!(self.teardowns.poll_advance(cx));
        let done = Teardowns::new(Vec::new(), 0, Outcome::Cancelled, OnFailure::Fail, false);
        let teardowns = std::mem::replace(&mut self.teardowns, done);
        Poll::Ready(teardowns.finish(&self.app))
    }
}

impl<R: Registry> Drop for Closing<R> {
    fn drop(&mut self) {
        // The request went away while its teardowns ran: the one in progress
        // runs to its end, and the rest run with `Cancelled`, on the app's worker.
        let interrupted = self.teardowns.running.take();
        let entries = std::mem::take(&mut self.teardowns.entries);
        if interrupted.is_some() || !entries.is_empty() {
            self.app.inner().deferred.send(Job { interrupted, entries, outcome: Outcome::Cancelled.into() });
        }
    }
}

/// The teardowns of a closing scope.
pub(crate) struct Teardowns {
    /// In setup order; `entries[stop..]` are still to tear down now.
    entries: Vec<Entry>,
    stop: usize,
    /// The outcome the next teardown sees.
    outcome: Outcome,
    on_failure: OnFailure,
    /// Set when a failure turned a success into an error response.
    replaced: Option<Option<ResponsePayload>>,
    /// Teardowns run in spans.
    traced: bool,
    errors: Vec<TeardownError>,
    /// The teardown in progress.
    running: Option<Running>,
    /// The outcome of an upgraded connection, told later.
    pub(crate) later: Option<oneshot::Receiver<Outcome>>,
}

impl Teardowns {
    /// `entries[stop..]` to tear down, last to first, with `outcome`.
    pub(crate) fn new(
        entries: Vec<Entry>,
        stop: usize,
        outcome: Outcome,
        on_failure: OnFailure,
        traced: bool,
    ) -> Self {
        Self {
            entries,
            stop,
            outcome,
            on_failure,
            replaced: None,
            traced,
            errors: Vec::new(),
            running: None,
            later: None,
        }
    }

    /// Runs the teardowns, last to first, polling each with `cx`: `Ready`
    /// when none is left to run now (or a value is still held), `Pending`
    /// while one is in progress. The one in progress stays in `self`, so that
    /// a request dropped in the middle of it hands it to the app's worker
    /// instead of cutting it short.
    pub(crate) fn poll_advance(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if let Some(running) = self.running.as_mut() {
                let result = ready!(running.poll(cx));
                self.running = None;
                self.record(result);
            }
            if self.entries.len() <= self.stop {
                return Poll::Ready(());
            }
            let Some(entry) = self.entries.pop() else { return Poll::Ready(()) };
            match entry.start(self.outcome, self.traced) {
                Ok(running) => self.running = running,
                Err(held) => {
                    // Held by a streaming body, a WebSocket or a task: it and
                    // everything set up before it wait for the response's end
                    // (the remainder), which decides their outcome.
                    self.entries.push(held);
                    return Poll::Ready(());
                }
            }
        }
    }

    fn record(&mut self, result: Result<(), TeardownError>) {
        let Err(error) = result else { return };
        if self.outcome.is_success() {
            match self.on_failure {
                OnFailure::Respond => {
                    let (status, response) = error.take_response().unwrap_or((500, None));
                    tracing::error!(
                        provider = error.provider,
                        status,
                        "teardown failed after a successful response; answering {status} instead"
                    );
                    self.outcome = Outcome::ErrorResponse { status };
                    self.replaced = Some(response);
                }
                OnFailure::Fail => self.outcome = Outcome::Failed,
            }
        }
        self.errors.push(error);
    }

    /// The failures, the final outcome, and what is left for after the response.
    pub(crate) fn finish<R: Registry>(self, app: &App<R>) -> Closed<R> {
        let Self { entries, outcome, errors, replaced, later, .. } = self;
        let errors = TeardownErrors::report(errors);
        // Values without teardown need nothing after the response: they are
        // dropped here, and the body is not wrapped.
        let after_response = entries.iter().any(Entry::has_teardown).then(|| {
            // Counted as an open scope until its body ends: shutdown waits for it.
            app.inner().scopes.open();
            AfterResponse { app: app.clone(), entries, outcome, later }
        });
        Closed { errors, outcome, replaced, after_response }
    }
}

/// The teardowns left for after the response: the after-response values, and
/// any value still held when the response was ready (by a streaming body, a
/// WebSocket, a task) with everything set up before it. Hand them over with
/// [`finish`](AfterResponse::finish) when the body is done: each runs once its
/// value is released. Dropped without `finish` (the body was cut), they run
/// with [`Outcome::Cancelled`].
pub struct AfterResponse<R: Registry> {
    app: App<R>,
    entries: Vec<Entry>,
    outcome: Outcome,
    later: Option<oneshot::Receiver<Outcome>>,
}

impl<R: Registry> AfterResponse<R> {
    /// The outcome decided for the response.
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Runs the remaining teardowns on the app's worker with `outcome` (what
    /// the client got: [`Outcome::Cancelled`] for a body that did not end),
    /// or, for a success whose connection was upgraded and whose outcome is
    /// told later, with that one.
    pub fn finish(mut self, outcome: Outcome) {
        let entries = std::mem::take(&mut self.entries);
        let outcome = match self.later.take() {
            Some(later) if outcome.is_success() => JobOutcome::Later(later),
            _ => outcome.into(),
        };
        self.app.inner().deferred.send(Job::new(entries, outcome));
    }
}

impl<R: Registry> Drop for AfterResponse<R> {
    fn drop(&mut self) {
        if !self.entries.is_empty() {
            let entries = std::mem::take(&mut self.entries);
            self.app.inner().deferred.send(Job::new(entries, Outcome::Cancelled.into()));
        }
        self.app.inner().scopes.close();
    }
}

/// Tells the outcome of an upgraded connection (a WebSocket) to the teardowns
/// of its request scope ([`SharedScope::decide_outcome_later`](crate::SharedScope::decide_outcome_later)). Dropped
/// without [`send`](OutcomeSender::send), the outcome is [`Outcome::Cancelled`].
#[derive(Debug)]
pub struct OutcomeSender(pub(crate) oneshot::Sender<Outcome>);

impl OutcomeSender {
    /// Tells the outcome.
    pub fn send(self, outcome: Outcome) {
        let _ = self.0.send(outcome);
    }
}
