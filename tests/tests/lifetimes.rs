//! Lifetimes and teardown guarantees, against a real server on 127.0.0.1:
//! the outcome teardown sees, before/after-response timing, cancellation by a
//! disconnecting client, panics, setup failures in the middle of a graph,
//! streaming bodies and WebSockets, exclusive borrows, failing teardowns.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_providers::prelude::*;
use axum_providers::ws::{Message, WebSocket, WebSocketUpgrade};
use axum_providers::{BoxError, Respond};
use axum_providers_tests::Journal;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

#[provider(scope = app)]
fn journal() -> Journal {
    Journal::default()
}

/// The request's id (header `x-id`) and what the test wants to happen.
struct Tag {
    id: String,
    behaviour: String,
}

#[provider(teardown = after_response)]
fn tag(headers: HeaderMap, journal: Dep<Journal>) -> Teardown<Tag> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let tag = Tag { id: header("x-id"), behaviour: header("x-behaviour") };
    journal.record(format!("setup tag {}", tag.id));
    let journal = journal.clone();
    Teardown::new(tag, move |tag, outcome| async move {
        journal.record(format!("teardown tag {} ({outcome})", tag.id));
    })
}

/// A transaction: torn down before the response (the default timing).
struct Tx {
    id: String,
}

#[provider]
async fn tx(tag: Dep<Tag>, journal: Dep<Journal>) -> Teardown<Tx> {
    journal.record(format!("setup tx {}", tag.id));
    let journal = journal.clone();
    let behaviour = tag.behaviour.clone();
    Teardown::new(Tx { id: tag.id.clone() }, move |tx, outcome| async move {
        if behaviour == "slow-commit" {
            journal.record(format!("commit started {}", tx.id));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        journal.record(format!("teardown tx {} ({outcome})", tx.id));
        match behaviour.as_str() {
            "fail-commit" => Err(BoxError::from("commit failed")),
            "conflict-commit" => Err(Respond::new(
                (StatusCode::CONFLICT, "conflict: this note exists already"),
                std::io::Error::other("duplicate key value violates unique constraint"),
            )
            .into()),
            _ => Ok(()),
        }
    })
}

/// Set up before the transaction (by handlers that ask for it first), so
/// torn down after it, before the response.
struct Audit {
    id: String,
}

#[provider]
fn audit(tag: Dep<Tag>, journal: Dep<Journal>) -> Teardown<Audit> {
    journal.record(format!("setup audit {}", tag.id));
    let journal = journal.clone();
    Teardown::new(Audit { id: tag.id.clone() }, move |audit, outcome| async move {
        journal.record(format!("teardown audit {} ({outcome})", audit.id));
    })
}

/// Cleanup that should not delay the client: torn down after the body was sent.
struct Cleanup;

#[provider(teardown = after_response)]
fn cleanup(tag: Dep<Tag>, journal: Dep<Journal>) -> Teardown<Cleanup> {
    journal.record(format!("setup cleanup {}", tag.id));
    let journal = journal.clone();
    let id = tag.id.clone();
    let slow = tag.behaviour == "slow-cleanup";
    Teardown::new(Cleanup, move |_, outcome| async move {
        if slow {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        journal.record(format!("teardown cleanup {id} ({outcome})"));
    })
}

/// Fails during setup, after `tag` and `tx` were set up.
#[derive(Debug)]
struct Refused;

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, "refused").into_response()
    }
}

struct Quota;

#[provider]
async fn quota(_tx: Dep<Tx>, tag: Dep<Tag>, journal: Dep<Journal>) -> Result<Quota, Refused> {
    journal.record(format!("setup quota {} (failing)", tag.id));
    Err(Refused)
}

/// Two teardowns that fail around one that succeeds.
struct First;
struct Second;
struct Third;

#[provider]
fn first(journal: Dep<Journal>) -> Teardown<First> {
    let journal = journal.clone();
    Teardown::new(First, move |_, _| async move {
        journal.record("teardown first");
        Err(std::io::Error::other("first broke"))
    })
}

#[provider]
fn second(_first: Dep<First>, journal: Dep<Journal>) -> Teardown<Second> {
    let journal = journal.clone();
    Teardown::new(Second, move |_, _| async move {
        journal.record("teardown second");
    })
}

#[provider]
fn third(_second: Dep<Second>, journal: Dep<Journal>) -> Teardown<Third> {
    let journal = journal.clone();
    Teardown::new(Third, move |_, _| async move {
        journal.record("teardown third");
        Err(std::io::Error::other("third broke"))
    })
}

#[providers(journal, tag, tx, cleanup, quota, first, second, third, audit, conn)]
struct AppProviders;

#[handler(AppProviders)]
async fn ok(_cleanup: Dep<Cleanup>, tx: Dep<Tx>) -> String {
    format!("ok {}", tx.id)
}

#[handler(AppProviders)]
async fn fail(_tx: Dep<Tx>) -> Result<String, (StatusCode, &'static str)> {
    Err((StatusCode::CONFLICT, "conflict"))
}

#[handler(AppProviders)]
async fn panics(tx: Dep<Tx>) -> String {
    if tx.id.starts_with("panic") {
        panic!("handler panicked on purpose");
    }
    String::new()
}

#[handler(AppProviders)]
async fn needs_quota(_quota: Dep<Quota>) -> &'static str {
    "unreachable"
}

#[handler(AppProviders)]
async fn hang(tx: Dep<Tx>, journal: Dep<Journal>) -> &'static str {
    journal.record(format!("handler started {}", tx.id));
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}

/// A connection, handed to one consumer at a time.
struct Conn;

#[provider(exclusive)]
fn conn() -> Conn {
    Conn
}

// Without `#[handler]`, which rejects two `DepMut<Conn>` at compile time.
async fn twice(_a: DepMut<Conn>, _b: DepMut<Conn>) -> &'static str {
    "unreachable"
}

#[handler(AppProviders)]
async fn three(_third: Dep<Third>) -> &'static str {
    "three"
}

/// A streaming body that holds the transaction until it ends.
#[handler(AppProviders)]
async fn stream(tx: Dep<Tx>, journal: Dep<Journal>) -> Body {
    let journal = journal.clone();
    let chunks = futures_util::stream::iter(0..3).then(move |n| {
        let journal = journal.clone();
        let id = tx.id.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if n == 2 {
                journal.record(format!("body ends {id}"));
            }
            Ok::<_, std::io::Error>(format!("chunk{n};"))
        }
    });
    // `tx` moved into the stream: it lives as long as the body.
    Body::from_stream(chunks)
}

/// The audit first, then the transaction: the audit is torn down after it.
#[handler(AppProviders)]
async fn audited(_audit: Dep<Audit>, tx: Dep<Tx>) -> String {
    format!("stored {}", tx.id)
}

/// A streaming body that holds the transaction and sends a chunk every 10 ms
/// for a minute: its client cuts it.
#[handler(AppProviders)]
async fn endless(tx: Dep<Tx>) -> Body {
    let chunks = futures_util::stream::iter(0..6_000).then(move |n| {
        let id = tx.id.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, std::io::Error>(format!("{id} chunk{n};"))
        }
    });
    Body::from_stream(chunks)
}

/// The same with axum's own upgrade: the crate cannot see how it ended.
#[handler(AppProviders)]
async fn plain_socket(upgrade: axum::extract::ws::WebSocketUpgrade, tx: Dep<Tx>) -> Response {
    upgrade.on_upgrade(move |mut socket: axum::extract::ws::WebSocket| async move {
        while let Some(Ok(axum::extract::ws::Message::Text(text))) = socket.recv().await {
            let reply = format!("{} says {}", tx.id, text.as_str());
            if socket.send(reply.into()).await.is_err() {
                break;
            }
        }
    })
}

/// A WebSocket that holds the transaction for as long as it is open.
#[handler(AppProviders)]
async fn socket(upgrade: WebSocketUpgrade, tx: Dep<Tx>, journal: Dep<Journal>) -> Response {
    let journal = journal.clone();
    upgrade.on_upgrade(move |mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if let Message::Text(text) = message {
                let reply = format!("{} says {}", tx.id, text.as_str());
                if socket.send(Message::Text(reply.into())).await.is_err() {
                    break;
                }
            }
        }
        journal.record(format!("socket closed {}", tx.id));
    })
}

struct Server {
    address: String,
    journal: Journal,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), axum_providers::ServeError>>,
}

impl Server {
    async fn start() -> Self {
        let app = App::<AppProviders>::builder().build().await.expect("app builds");
        let journal = app.get::<Journal>().await.expect("journal").clone();
        let router: Router = Router::new()
            .route("/ok", get(ok))
            .route("/fail", get(fail))
            .route("/panic", get(panics))
            .route("/quota", get(needs_quota))
            .route("/hang", get(hang))
            .route("/twice", get(twice))
            .route("/three", get(three))
            .route("/stream", get(stream))
            .route("/endless", get(endless))
            .route("/audited", get(audited))
            .route("/socket", get(socket))
            .route("/plain-socket", get(plain_socket))
            .with_providers(&app);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let (stop, task) = axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
        Self { address, journal, stop: Some(stop), task }
    }

    async fn get(&self, path: &str, id: &str, behaviour: &str) -> (StatusCode, String) {
        let response = reqwest::Client::new()
            .get(format!("http://{}{path}", self.address))
            .header("x-id", id)
            .header("x-behaviour", behaviour)
            .send()
            .await
            .expect("send");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        (status, response.text().await.expect("body"))
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops")
            .expect("server task")
            .expect("clean shutdown");
    }
}

fn pos(events: &[String], event: &str) -> usize {
    events.iter().position(|e| e == event).unwrap_or_else(|| panic!("no `{event}` in {events:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_sees_success_in_reverse_order_split_around_the_response() {
    let server = Server::start().await;
    let (status, body) = server.get("/ok", "s1", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok s1"));
    server.journal.wait_for("teardown tag s1 (success)").await;
    // Set up: tag (after-response), cleanup (after-response), tx (before-response).
    // Before the response: tx. After the body: cleanup, then tag.
    assert_eq!(
        server.journal.of("s1"),
        [
            "setup tag s1",
            "setup cleanup s1",
            "setup tx s1",
            "teardown tx s1 (success)",
            "teardown cleanup s1 (success)",
            "teardown tag s1 (success)",
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_response_teardown_finishes_before_the_client_gets_the_response() {
    let server = Server::start().await;
    let (status, _) = server.get("/ok", "b1", "slow-commit").await;
    assert_eq!(status, StatusCode::OK);
    // The commit sleeps 200 ms; the client only got its answer after it.
    assert!(server.journal.events().contains(&"teardown tx b1 (success)".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_response_teardown_does_not_delay_the_client() {
    let server = Server::start().await;
    let started = Instant::now();
    let (status, _) = server.get("/ok", "a1", "slow-cleanup").await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(
        !server.journal.events().contains(&"teardown cleanup a1 (success)".to_owned()),
        "the client got the response before the 300 ms cleanup finished (took {elapsed:?})"
    );
    server.journal.wait_for("teardown cleanup a1 (success)").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_before_response_teardown_turns_success_into_a_500() {
    let server = Server::start().await;
    let (status, body) = server.get("/ok", "f1", "fail-commit").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "the client is not told the data was stored");
    assert_eq!(body, "internal server error");
    // Teardown saw the outcome of the handler's response, decided before it ran.
    assert!(server.journal.events().contains(&"teardown tx f1 (success)".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_sees_the_status_of_an_error_response() {
    let server = Server::start().await;
    let (status, body) = server.get("/fail", "e1", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::CONFLICT, "conflict"));
    server.journal.wait_for("teardown tag e1 (error response (409))").await;
    assert!(server.journal.events().contains(&"teardown tx e1 (error response (409))".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_gets_a_500_and_every_teardown_and_the_server_keeps_serving() {
    let server = Server::start().await;
    let (status, body) = server.get("/panic", "panic1", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"));
    server.journal.wait_for("teardown tag panic1 (panicked)").await;
    assert!(server.journal.events().contains(&"teardown tx panic1 (panicked)".to_owned()));
    let (status, _) = server.get("/ok", "after-panic", "").await;
    assert_eq!(status, StatusCode::OK, "the server keeps serving");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_failure_mid_graph_tears_down_what_was_set_up_in_reverse_order() {
    let server = Server::start().await;
    let (status, body) = server.get("/quota", "q1", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "refused"));
    server.journal.wait_for("teardown tag q1 (setup failed)").await;
    assert_eq!(
        server.journal.of("q1"),
        [
            "setup tag q1",
            "setup tx q1",
            "setup quota q1 (failing)",
            "teardown tx q1 (setup failed)",
            "teardown tag q1 (setup failed)",
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_handler_gets_its_values_torn_down_as_cancelled() {
    let server = Server::start().await;
    let mut client = TcpStream::connect(&server.address).await.expect("connect");
    let request = "GET /hang HTTP/1.1\r\nhost: test\r\nx-id: c1\r\n\r\n";
    client.write_all(request.as_bytes()).await.expect("write");
    server.journal.wait_for("handler started c1").await;
    drop(client);
    server.journal.wait_for("teardown tag c1 (cancelled)").await;
    assert_eq!(
        server.journal.of("c1"),
        [
            "setup tag c1",
            "setup tx c1",
            "handler started c1",
            "teardown tx c1 (cancelled)",
            "teardown tag c1 (cancelled)",
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_during_a_commit_does_not_cut_the_commit_short() {
    let server = Server::start().await;
    let mut client = TcpStream::connect(&server.address).await.expect("connect");
    let request = "GET /ok HTTP/1.1\r\nhost: test\r\nx-id: d1\r\nx-behaviour: slow-commit\r\n\r\n";
    client.write_all(request.as_bytes()).await.expect("write");
    server.journal.wait_for("commit started d1").await;
    drop(client);
    server.journal.wait_for("teardown tag d1 (cancelled)").await;
    // The commit in progress ran to its end (with the outcome decided for the
    // response); what was left to tear down ran with `Cancelled`.
    assert_eq!(
        server.journal.of("d1"),
        [
            "setup tag d1",
            "setup cleanup d1",
            "setup tx d1",
            "commit started d1",
            "teardown tx d1 (success)",
            "teardown cleanup d1 (cancelled)",
            "teardown tag d1 (cancelled)",
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_body_keeps_its_values_until_it_ends() {
    let server = Server::start().await;
    let (status, body) = server.get("/stream", "st1", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "chunk0;chunk1;chunk2;"));
    server.journal.wait_for("teardown tag st1 (success)").await;
    let events = server.journal.of("st1");
    assert!(pos(&events, "body ends st1") < pos(&events, "teardown tx st1 (success)"), "{events:?}");
    assert_eq!(
        events.iter().filter(|e| e.starts_with("teardown tx")).count(),
        1,
        "torn down once: {events:?}"
    );
    assert!(pos(&events, "teardown tx st1 (success)") < pos(&events, "teardown tag st1 (success)"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_keeps_its_values_until_it_closes() {
    let server = Server::start().await;
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{}/socket",
        server.address
    ))
    .map(|mut request| {
        request.headers_mut().insert("x-id", "ws1".parse().expect("header"));
        request
    })
    .expect("request");
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connect");
    for word in ["one", "two"] {
        socket.send(tokio_tungstenite::tungstenite::Message::text(word)).await.expect("send");
        let reply = socket.next().await.expect("reply").expect("message");
        assert_eq!(reply.into_text().expect("text").as_str(), format!("ws1 says {word}"));
    }
    assert!(
        !server.journal.events().iter().any(|e| e.starts_with("teardown tx ws1")),
        "the transaction lives while the socket is open: {:?}",
        server.journal.of("ws1")
    );
    socket.close(None).await.expect("close");
    server.journal.wait_for("teardown tag ws1 (success)").await;
    let events = server.journal.of("ws1");
    assert!(pos(&events, "socket closed ws1") < pos(&events, "teardown tx ws1 (success)"), "{events:?}");
    assert_eq!(
        events.iter().filter(|e| e.starts_with("teardown tx")).count(),
        1,
        "torn down once: {events:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_twice_for_an_exclusive_value_answers_500_at_once() {
    let server = Server::start().await;
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), server.get("/twice", "x1", ""))
        .await
        .expect("no deadlock");
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_teardown_runs_even_when_some_fail() {
    let server = Server::start().await;
    let (status, _) = server.get("/three", "t1", "").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "failed teardowns after a success answer 500");
    let events: Vec<_> = server.journal.events().into_iter().filter(|e| !e.contains("tag")).collect();
    assert_eq!(events, ["teardown third", "teardown second", "teardown first"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_an_open_stream_before_app_teardown() {
    let server = Server::start().await;
    let address = server.address.clone();
    // A raw client reads the streaming response slowly while the server stops.
    let reader = tokio::spawn(async move {
        let mut client = TcpStream::connect(&address).await.expect("connect");
        client
            .write_all(b"GET /stream HTTP/1.1\r\nhost: test\r\nx-id: sd1\r\nconnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut response = Vec::new();
        client.read_to_end(&mut response).await.expect("read");
        String::from_utf8_lossy(&response).into_owned()
    });
    server.journal.wait_for("setup tx sd1").await;
    let journal = server.journal.clone();
    server.stop().await;
    let response = reader.await.expect("reader");
    assert!(response.contains("chunk2;"), "the stream finished: {response}");
    let events = journal.events();
    assert!(pos(&events, "teardown tx sd1 (success)") < events.len(), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_body_cut_by_the_client_tears_its_held_values_down_as_cancelled() {
    let server = Server::start().await;
    let mut client = TcpStream::connect(&server.address).await.expect("connect");
    client.write_all(b"GET /endless HTTP/1.1\r\nhost: test\r\nx-id: cut1\r\n\r\n").await.expect("write");
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !String::from_utf8_lossy(&received).contains("cut1 chunk1;") {
        let read = client.read(&mut buffer).await.expect("read");
        assert!(read > 0, "the stream ended early");
        received.extend_from_slice(&buffer[..read]);
    }
    drop(client);
    server.journal.wait_for("teardown tag cut1 (cancelled)").await;
    // The body held `tx` (and `tag`, set up before it): neither commits.
    assert_eq!(
        server.journal.of("cut1"),
        ["setup tag cut1", "setup tx cut1", "teardown tx cut1 (cancelled)", "teardown tag cut1 (cancelled)"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failing_commit_every_later_teardown_sees_the_500() {
    let server = Server::start().await;
    let (status, body) = server.get("/audited", "fc1", "fail-commit").await;
    assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"));
    server.journal.wait_for("teardown tag fc1 (error response (500))").await;
    assert_eq!(
        server.journal.of("fc1"),
        [
            "setup tag fc1",
            "setup audit fc1",
            "setup tx fc1",
            "teardown tx fc1 (success)",
            "teardown audit fc1 (error response (500))",
            "teardown tag fc1 (error response (500))",
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teardown_error_that_chooses_a_response_is_sent_and_seen_by_later_teardowns() {
    let server = Server::start().await;
    let (status, body) = server.get("/audited", "cf1", "conflict-commit").await;
    assert_eq!((status, body.as_str()), (StatusCode::CONFLICT, "conflict: this note exists already"));
    server.journal.wait_for("teardown tag cf1 (error response (409))").await;
    assert!(server.journal.events().contains(&"teardown audit cf1 (error response (409))".to_owned()));
    server.stop().await;
}

/// A WebSocket client of `path` for request `id` that got one echo.
async fn open_socket(
    address: &str,
    path: &str,
    id: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{address}{path}"
    ))
    .map(|mut request| {
        request.headers_mut().insert("x-id", id.parse().expect("header"));
        request
    })
    .expect("request");
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connect");
    socket.send(tokio_tungstenite::tungstenite::Message::text("hi")).await.expect("send");
    let reply = socket.next().await.expect("reply").expect("message");
    assert_eq!(reply.into_text().expect("text").as_str(), format!("{id} says hi"));
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_lost_without_a_close_frame_is_cancelled() {
    let server = Server::start().await;
    let socket = open_socket(&server.address, "/socket", "ws2").await;
    drop(socket); // the TCP connection goes, no close frame
    server.journal.wait_for("teardown tag ws2 (cancelled)").await;
    assert_eq!(
        server.journal.of("ws2"),
        [
            "setup tag ws2",
            "setup tx ws2",
            "socket closed ws2",
            "teardown tx ws2 (cancelled)",
            "teardown tag ws2 (cancelled)"
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_axums_own_upgrade_a_lost_websocket_still_sees_the_101s_success() {
    let server = Server::start().await;
    let socket = open_socket(&server.address, "/plain-socket", "ws3").await;
    drop(socket);
    // Documented: only `axum_providers::ws::WebSocketUpgrade` sees how it ended.
    server.journal.wait_for("teardown tag ws3 (success)").await;
    assert!(server.journal.events().contains(&"teardown tx ws3 (success)".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_gets_its_after_response_teardowns_with_its_success() {
    let server = Server::start().await;
    let response = reqwest::Client::new()
        .head(format!("http://{}/ok", server.address))
        .header("x-id", "head1")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 200);
    // No body is sent: the after-response values are not "cut".
    server.journal.wait_for("teardown tag head1 (success)").await;
    assert!(server.journal.events().contains(&"teardown cleanup head1 (success)".to_owned()));
    server.stop().await;
}

/// Cancellation with a real connection pool: a client that disconnects while
/// its handler holds a pooled PostgreSQL connection gets the connection back
/// in the pool.
mod pooled {
    use sqlx::pool::PoolConnection;
    use sqlx::postgres::PgPoolOptions;
    use sqlx::{PgPool, Postgres};

    use super::*;

    #[provider(scope = app)]
    async fn pool() -> Result<Teardown<PgPool>, sqlx::Error> {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect(&url)
            .await?;
        Ok(Teardown::new(pool, |pool, _| async move { pool.close().await }))
    }

    #[provider(exclusive)]
    async fn connection(
        pool: Dep<PgPool>,
        tag: Dep<Tag>,
        journal: Dep<Journal>,
    ) -> Result<Teardown<PoolConnection<Postgres>>, sqlx::Error> {
        let connection = pool.acquire().await?;
        let journal = journal.clone();
        let id = tag.id.clone();
        Ok(Teardown::new(connection, move |connection, outcome| async move {
            drop(connection); // back to the pool
            journal.record(format!("teardown connection {id} ({outcome})"));
        }))
    }

    #[providers(journal, tag, pool, connection)]
    struct PoolProviders;

    #[handler(PoolProviders)]
    async fn query_then_hang(
        mut connection: DepMut<PoolConnection<Postgres>>,
        tag: Dep<Tag>,
        journal: Dep<Journal>,
    ) -> String {
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut **connection).await.unwrap_or_default();
        journal.record(format!("handler started {}", tag.id));
        if tag.behaviour == "hang" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        format!("{one}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_disconnected_client_returns_its_pooled_connection() {
        let app = App::<PoolProviders>::builder().build().await.expect("app builds (is PostgreSQL running?)");
        let journal = app.get::<Journal>().await.expect("journal").clone();
        let pool = app.get::<PgPool>().await.expect("pool").clone();
        let router: Router = Router::new().route("/db", get(query_then_hang)).with_providers(&app);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let (stop, server) =
            axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));

        // Both connections of the pool are taken by handlers whose clients go away.
        for id in ["p1", "p2"] {
            let mut client = TcpStream::connect(&address).await.expect("connect");
            let request =
                format!("GET /db HTTP/1.1\r\nhost: test\r\nx-id: {id}\r\nx-behaviour: hang\r\n\r\n");
            client.write_all(request.as_bytes()).await.expect("write");
            journal.wait_for(&format!("handler started {id}")).await;
            drop(client);
            journal.wait_for(&format!("teardown connection {id} (cancelled)")).await;
            journal.wait_for(&format!("teardown tag {id} (cancelled)")).await;
        }
        let started = Instant::now();
        while pool.num_idle() < pool.size() as usize {
            assert!(started.elapsed() < Duration::from_secs(5), "connections not returned to the pool");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // With a pool of two, a third request only succeeds if they came back.
        let response = reqwest::Client::new()
            .get(format!("http://{address}/db"))
            .header("x-id", "p3")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.text().await.expect("body"), "1");
        drop(pool);
        let _ = stop.send(());
        server.await.expect("server task").expect("clean shutdown");
    }
}
