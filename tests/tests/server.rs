//! Providers behind a real server on 127.0.0.1: isolation of request scopes
//! under concurrency, and graceful shutdown followed by app teardown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use axum_providers::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;

#[derive(Clone, Default)]
struct Counters {
    setups: Arc<AtomicUsize>,
    teardowns: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Counters {
    fn log(&self, event: impl Into<String>) {
        self.log.lock().expect("log lock").push(event.into());
    }
    fn events(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }
}

#[provider(scope = app)]
fn counters() -> Counters {
    Counters::default()
}

struct Database;

#[provider(scope = app)]
async fn database(counters: Dep<Counters>) -> Teardown<Database> {
    counters.log("setup database");
    let counters = counters.clone();
    Teardown::new(Database, move |_, outcome| async move {
        counters.log(format!("teardown database ({outcome})"));
    })
}

struct Cache;

#[provider(scope = app)]
async fn cache(_database: Dep<Database>, counters: Dep<Counters>) -> Teardown<Cache> {
    counters.log("setup cache");
    let counters = counters.clone();
    Teardown::new(Cache, move |_, outcome| async move {
        counters.log(format!("teardown cache ({outcome})"));
    })
}

/// The id the client sent, read from the request.
struct RequestId(String);

#[provider]
async fn request_id(headers: HeaderMap, counters: Dep<Counters>) -> Teardown<RequestId> {
    let id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned();
    counters.setups.fetch_add(1, Ordering::SeqCst);
    let counters = counters.clone();
    Teardown::new(RequestId(id), move |_, _| async move {
        counters.teardowns.fetch_add(1, Ordering::SeqCst);
    })
}

/// Built from the request id; yields between steps so requests interleave.
struct Session {
    owner: String,
}

#[provider]
async fn session(id: Dep<RequestId>, _cache: Dep<Cache>) -> Session {
    tokio::task::yield_now().await;
    Session { owner: id.0.clone() }
}

/// A per-request buffer that the handler mutates.
struct Buffer(Vec<String>);

#[provider(exclusive)]
fn buffer() -> Buffer {
    Buffer(Vec::new())
}

#[providers(counters, database, cache, request_id, session, buffer)]
struct AppProviders;

#[handler(AppProviders)]
async fn whoami(id: Dep<RequestId>, session: Dep<Session>, mut buffer: DepMut<Buffer>) -> String {
    buffer.0.push(id.0.clone());
    tokio::time::sleep(Duration::from_millis(u64::from(id.0.len() as u8 % 3))).await;
    buffer.0.push(session.owner.clone());
    format!("{}|{}|{}", id.0, session.owner, buffer.0.join(","))
}

#[handler(AppProviders)]
async fn slow(id: Dep<RequestId>, counters: Dep<Counters>) -> String {
    counters.log("slow request started");
    tokio::time::sleep(Duration::from_millis(400)).await;
    counters.log("slow request finished");
    format!("slow {}", id.0)
}

async fn start(
    app: &App<AppProviders>,
) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), axum_providers::ServeError>>) {
    let router: Router =
        Router::new().route("/whoami", get(whoami)).route("/slow", get(slow)).with_providers(app);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, server) = axum_providers_tests::in_background(axum_providers::serve(listener, router, app));
    (address, stop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_see_only_their_own_request_values() {
    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let counters = app.get::<Counters>().await.expect("counters").clone();
    let (address, stop, server) = start(&app).await;
    drop(app);

    let client = reqwest::Client::new();
    let limit = Arc::new(Semaphore::new(64));
    let mut requests = JoinSet::new();
    for n in 0..1_000 {
        let client = client.clone();
        let address = address.clone();
        let permit = Arc::clone(&limit).acquire_owned().await.expect("semaphore");
        requests.spawn(async move {
            let id = format!("req-{n}");
            let response = client
                .get(format!("{address}/whoami"))
                .header("x-request-id", &id)
                .send()
                .await
                .expect("send");
            assert!(response.status().is_success(), "{}", response.status());
            let body = response.text().await.expect("body");
            drop(permit);
            (id, body)
        });
    }
    let mut answered = 0;
    while let Some(result) = requests.join_next().await {
        let (id, body) = result.expect("request task");
        assert_eq!(body, format!("{id}|{id}|{id},{id}"), "request {id} saw another request's values");
        answered += 1;
    }
    assert_eq!(answered, 1_000);
    assert_eq!(counters.setups.load(Ordering::SeqCst), 1_000, "one request id per request");
    assert_eq!(counters.teardowns.load(Ordering::SeqCst), 1_000, "every request scope torn down once");

    stop.send(()).expect("server running");
    server.await.expect("server task").expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_requests_then_tears_the_app_down_in_reverse_order() {
    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let counters = app.get::<Counters>().await.expect("counters").clone();
    let (address, stop, server) = start(&app).await;
    drop(app);

    let slow = tokio::spawn(async move {
        let response = reqwest::Client::new()
            .get(format!("{address}/slow"))
            .header("x-request-id", "last")
            .send()
            .await
            .expect("send");
        (response.status(), response.text().await.expect("body"))
    });
    // Wait until the slow request is in its handler, then ask the server to stop.
    while !counters.events().iter().any(|e| e == "slow request started") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).expect("server running");

    let (status, body) = slow.await.expect("client task");
    assert!(status.is_success(), "the in-flight request finished: {status}");
    assert_eq!(body, "slow last");
    server.await.expect("server task").expect("clean shutdown");

    assert_eq!(counters.teardowns.load(Ordering::SeqCst), 1, "the request scope closed");
    assert_eq!(
        counters.events(),
        [
            "setup database",
            "setup cache",
            "slow request started",
            "slow request finished",
            "teardown cache (shutdown)",
            "teardown database (shutdown)",
        ]
    );
}
