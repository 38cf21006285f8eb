//! WebSockets whose request scope learns how the connection ended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::FromRequestParts;
use axum::extract::ws::{self, DefaultOnFailedUpgrade, OnFailedUpgrade};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_providers_core::SharedScope;
use axum_providers_core::{Cancellation, Outcome, OutcomeSender, ProviderState, Registry};
use futures_util::{Sink, Stream};

pub use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};

/// axum's [`WebSocketUpgrade`](ws::WebSocketUpgrade), for handlers that use
/// providers: the values the socket holds are torn down with the outcome of
/// the connection instead of the `101` response's.
///
/// - the socket closed with a close frame (received from the client, or sent
///   by the server): [`Outcome::Success`];
/// - the connection was lost without one (the client vanished, the network
///   failed, the handler returned without closing), or the upgrade failed:
///   [`Outcome::Cancelled`];
/// - the app's shutdown deadline passed while the socket was open: the
///   callback is dropped and the outcome is [`Outcome::Cancelled`].
///
/// With axum's own `WebSocketUpgrade` the values are torn down when released
/// too, but with the `101`'s outcome, [`Outcome::Success`], however the
/// connection ended, and a socket still open at the shutdown deadline is not
/// cut.
///
/// ```
/// use axum::{Router, response::Response, routing::get};
/// use axum_providers::prelude::*;
/// use axum_providers::ws::{Message, WebSocket, WebSocketUpgrade};
///
/// pub struct Session { pub user: String }
///
/// #[provider]
/// fn session() -> Session { Session { user: "ada".into() } }
///
/// #[providers(session)]
/// struct AppProviders;
///
/// async fn chat(upgrade: WebSocketUpgrade, session: Dep<Session>) -> Response {
///     upgrade.on_upgrade(move |mut socket: WebSocket| async move {
///         while let Some(Ok(Message::Text(text))) = socket.recv().await {
///             let reply = format!("{}: {}", session.user, text.as_str());
///             if socket.send(Message::Text(reply.into())).await.is_err() {
///                 break;
///             }
///         }
///     })
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let router: Router = Router::new().route("/chat", get(chat)).with_providers(&app);
/// # drop(router);
/// # Ok(()) }
/// # fn main() {}
/// ```
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    inner: ws::WebSocketUpgrade<F>,
    decide: Box<dyn FnOnce() -> (OutcomeSender, Cancellation) + Send>,
}

impl<F> std::fmt::Debug for WebSocketUpgrade<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade").finish_non_exhaustive()
    }
}

impl<S> FromRequestParts<S> for WebSocketUpgrade
where
    S: ProviderState,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let inner = ws::WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(scope) = SharedScope::<S::Registry>::of(&parts.extensions) else {
            return Err(missing_layer::<S::Registry>());
        };
        let decide = move || (scope.decide_outcome_later(), scope.app().cancellation());
        Ok(Self { inner, decide: Box::new(decide) })
    }
}

fn missing_layer<R: Registry>() -> Response {
    tracing::error!(
        registry = std::any::type_name::<R>(),
        "no request scope for a WebSocket: the providers layer is missing; use `Router::with_providers(&app)`"
    );
    axum_providers_core::internal_error_response()
}

impl<F: OnFailedUpgrade> WebSocketUpgrade<F> {
    /// Changes the settings of axum's upgrade (protocols, buffer and message
    /// sizes, the failed-upgrade callback).
    #[must_use]
    pub fn configure<G>(
        self,
        configure: impl FnOnce(ws::WebSocketUpgrade<F>) -> ws::WebSocketUpgrade<G>,
    ) -> WebSocketUpgrade<G> {
        WebSocketUpgrade { inner: configure(self.inner), decide: self.decide }
    }

    /// The protocol the server chose, if any.
    #[must_use]
    pub fn selected_protocol(&self) -> Option<&HeaderValue> {
        self.inner.selected_protocol()
    }

    /// Answers `101 Switching Protocols` and, once the connection is
    /// upgraded, runs `callback` with the socket, racing the app's shutdown
    /// deadline. The request scope's remaining teardowns wait for the socket
    /// to end and see how it ended.
    #[must_use = "to set up the WebSocket connection, this response must be returned"]
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (outcome, cancellation) = (self.decide)();
        self.inner.on_upgrade(move |socket| async move {
            let socket = WebSocket { inner: socket, outcome: Some(outcome) };
            tokio::select! {
                () = callback(socket) => {}
                () = cancellation.cancelled() => {
                    tracing::warn!("WebSocket cut at the shutdown deadline; its values are torn down as cancelled");
                }
            }
        })
    }
}

/// axum's [`WebSocket`](ws::WebSocket), noting whether a close frame went
/// either way: see [`WebSocketUpgrade`].
#[derive(Debug)]
pub struct WebSocket {
    inner: ws::WebSocket,
    /// Told [`Outcome::Success`] at the first close frame; dropped untold,
    /// it tells [`Outcome::Cancelled`].
    outcome: Option<OutcomeSender>,
}

impl WebSocket {
    /// Receives the next message; `None` once the connection is closed.
    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        let received = self.inner.recv().await;
        self.saw(received.as_ref());
        received
    }

    /// Sends a message.
    ///
    /// # Errors
    ///
    /// When the connection is closed or fails.
    pub async fn send(&mut self, message: Message) -> Result<(), axum::Error> {
        let closing = matches!(message, Message::Close(_));
        self.inner.send(message).await?;
        if closing {
            self.closed_normally();
        }
        Ok(())
    }

    /// The protocol the server chose, if any.
    #[must_use]
    pub fn protocol(&self) -> Option<&HeaderValue> {
        self.inner.protocol()
    }

    fn saw(&mut self, received: Option<&Result<Message, axum::Error>>) {
        if let Some(Ok(Message::Close(_))) = received {
            self.closed_normally();
        }
    }

    fn closed_normally(&mut self) {
        if let Some(outcome) = self.outcome.take() {
            outcome.send(Outcome::Success);
        }
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let received = ready!(Pin::new(&mut self.inner).poll_next(cx));
        self.saw(received.as_ref());
        Poll::Ready(received)
    }
}

impl Sink<Message> for WebSocket {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, message: Message) -> Result<(), Self::Error> {
        let closing = matches!(message, Message::Close(_));
        Pin::new(&mut self.inner).start_send(message)?;
        if closing {
            self.closed_normally();
        }
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
