//! A response body that runs the after-response teardowns when it ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum_providers_core::AfterResponse;
use axum_providers_core::{Outcome, Registry};
use http_body::{Body as _, Frame, SizeHint};

/// Wraps the response body; when it has been sent (or is dropped), hands the
/// after-response teardowns to the app's worker: with the response's outcome
/// when the body ended, with [`Outcome::Cancelled`] when it was dropped early
/// or failed.
pub(crate) struct ScopedBody<R: Registry> {
    inner: Body,
    remainder: Option<AfterResponse<R>>,
}

impl<R: Registry> ScopedBody<R> {
    pub(crate) fn new(inner: Body, remainder: AfterResponse<R>) -> Self {
        Self { inner, remainder: Some(remainder) }
    }

    fn finish(&mut self, outcome: Option<Outcome>) {
        if let Some(remainder) = self.remainder.take() {
            let outcome = outcome.unwrap_or_else(|| remainder.outcome());
            remainder.finish(outcome);
        }
    }
}

impl<R: Registry> http_body::Body for ScopedBody<R> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finish(None),
            Poll::Ready(Some(Err(_))) => self.finish(Some(Outcome::Cancelled)),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<R: Registry> Drop for ScopedBody<R> {
    fn drop(&mut self) {
        // A body known to be empty may be dropped unpolled: it was sent.
        let outcome = if self.inner.is_end_stream() { None } else { Some(Outcome::Cancelled) };
        self.finish(outcome);
    }
}
