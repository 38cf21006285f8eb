//! Teardown that cannot run where it was decided: a task owned by the app
//! container runs it.
//!
//! Used when a scope is dropped without being closed (a cancelled request, a
//! hand-opened scope that was dropped), when a value is still held at close
//! time (a streaming body, a WebSocket), and for after-response teardown. A
//! `Drop` only does a synchronous channel send; the task lives on the runtime
//! that built the app, and `App::shutdown` drains it before app-scoped
//! teardown. If that runtime is gone, the values are reported as not torn down.

use std::sync::{Mutex, PoisonError};
use tokio::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::error::TeardownErrors;
use crate::outcome::Outcome;
use crate::teardown::{Entry, Running};

/// A batch of teardowns: entries in setup order, run last to first.
pub(crate) struct Job {
    /// A teardown the request was in the middle of when it went away: it
    /// runs to the end first.
    pub(crate) interrupted: Option<Running>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) outcome: JobOutcome,
}

impl Job {
    /// A batch of teardowns not started yet.
    pub(crate) fn new(entries: Vec<Entry>, outcome: JobOutcome) -> Self {
        Self { interrupted: None, entries, outcome }
    }
}

/// The outcome a job's teardowns see: known, or told later (how an upgraded
/// connection ended; [`Outcome::Cancelled`] if the teller is dropped).
pub(crate) enum JobOutcome {
    Decided(Outcome),
    Later(oneshot::Receiver<Outcome>),
}

impl From<Outcome> for JobOutcome {
    fn from(outcome: Outcome) -> Self {
        Self::Decided(outcome)
    }
}

impl JobOutcome {
    /// The outcome, once it is known.
    async fn known(&mut self) -> Outcome {
        if let Self::Later(later) = self {
            *self = Self::Decided(later.await.unwrap_or(Outcome::Cancelled));
        }
        match self {
            Self::Decided(outcome) => *outcome,
            Self::Later(_) => Outcome::Cancelled,
        }
    }
}

impl std::fmt::Display for JobOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Decided(outcome) => outcome.fmt(f),
            Self::Later(_) => f.write_str("not known yet"),
        }
    }
}

pub(crate) struct Deferred {
    sender: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Deferred {
    /// Starts the worker on the current runtime (if there is one).
    pub(crate) fn start() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let worker = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Some(runtime.spawn(work(receiver))),
            Err(_) => None,
        };
        let sender = worker.as_ref().map(|_| sender);
        Self { sender: Mutex::new(sender), worker: Mutex::new(worker) }
    }

    /// Hands `job` to the worker. Synchronous: safe in `Drop`.
    pub(crate) fn send(&self, job: Job) {
        if job.interrupted.is_none() && !job.entries.iter().any(Entry::has_teardown) {
            // Nothing to run: the values are dropped here (no task, no wait).
            return;
        }
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let refused = match sender.as_ref() {
            Some(sender) => sender.send(job).err().map(|error| error.0),
            None => Some(job),
        };
        if let Some(job) = refused {
            let providers: Vec<_> = job
                .interrupted
                .iter()
                .map(Running::provider)
                .chain(job.entries.iter().filter(|e| e.has_teardown()).map(|e| e.provider))
                .collect();
            if !providers.is_empty() {
                tracing::error!(
                    ?providers,
                    outcome = %job.outcome,
                    "teardown could not run: the app's runtime is gone or the app was shut down; \
                     these values were dropped without teardown"
                );
            }
        }
    }

    /// Stops accepting jobs and waits until `deadline` for the pending ones:
    /// `true` when they all finished. Called again, it waits again.
    pub(crate) async fn drain(&self, deadline: Instant) -> bool {
        drop(self.sender.lock().unwrap_or_else(PoisonError::into_inner).take());
        let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(mut worker) = worker else { return true };
        match tokio::time::timeout_at(deadline, &mut worker).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::error!(%error, "the teardown worker failed");
                true
            }
            Err(_) => {
                *self.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(worker);
                false
            }
        }
    }
}

async fn work(mut receiver: mpsc::UnboundedReceiver<Job>) {
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            job = receiver.recv() => match job {
                Some(job) => {
                    running.spawn(run(job));
                }
                None => break,
            },
            Some(done) = running.join_next(), if !running.is_empty() => report_join(done),
        }
    }
    while let Some(done) = running.join_next().await {
        report_join(done);
    }
}

fn report_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "a deferred teardown task failed");
    }
}

/// Runs a job: waits for each value to be released, then tears it down.
pub(crate) async fn run(job: Job) {
    let Job { interrupted, mut entries, mut outcome } = job;
    let mut errors = Vec::new();
    if let Some(running) = interrupted
        && let Err(error) = running.finish().await
    {
        errors.push(error);
    }
    while let Some(entry) = entries.pop() {
        // Woken by the drop of the value's last handle, if one is still held.
        let released = entry.released().await;
        let outcome = outcome.known().await;
        if let Err(error) = released.finish(outcome).await {
            errors.push(error);
        }
    }
    let _reported = TeardownErrors::report(errors);
}
