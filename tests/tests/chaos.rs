//! A randomized run of 10,000 requests over a real server on 127.0.0.1,
//! 64 at a time, mixing success, handler errors, handler panics, setup errors,
//! teardown errors (with values set up before the failing one), clients that
//! disconnect mid-handler, and streaming bodies that hold a value, read to the
//! end or cut by the client. At the end, per provider: setups == teardowns, no
//! value torn down twice, the outcome every teardown saw is the truth its
//! client got (per provider: a value torn down before the response sees what
//! was decided then, one waiting on the body sees how the body ended), no
//! pooled connection and no `Arc` leaked.
//!
//! The seed is printed; set `CHAOS_SEED` to replay a run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_providers::prelude::*;
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mode {
    Ok,
    HandlerError,
    Panic,
    SetupError,
    TeardownError,
    Disconnect,
    Stream,
    StreamCut,
}

impl Mode {
    fn pick(roll: u64) -> Self {
        match roll % 100 {
            0..40 => Self::Ok,
            40..55 => Self::HandlerError,
            55..65 => Self::Panic,
            65..72 => Self::SetupError,
            72..80 => Self::TeardownError,
            80..88 => Self::Disconnect,
            88..94 => Self::Stream,
            _ => Self::StreamCut,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::HandlerError => "error",
            Self::Panic => "panic",
            Self::SetupError => "setup-error",
            Self::TeardownError => "teardown-error",
            Self::Disconnect => "hang",
            Self::Stream => "stream",
            Self::StreamCut => "stream-forever",
        }
    }

    fn parse(header: &str) -> Self {
        match header {
            "error" => Self::HandlerError,
            "panic" => Self::Panic,
            "setup-error" => Self::SetupError,
            "teardown-error" => Self::TeardownError,
            "hang" => Self::Disconnect,
            "stream" => Self::Stream,
            "stream-forever" => Self::StreamCut,
            _ => Self::Ok,
        }
    }

    /// What the client is sent (`None`: it went away first).
    fn expected_status(self) -> Option<u16> {
        match self {
            Self::Ok | Self::Stream => Some(200),
            Self::HandlerError => Some(422),
            Self::Panic | Self::TeardownError => Some(500),
            Self::SetupError => Some(503),
            Self::Disconnect | Self::StreamCut => None,
        }
    }

    /// The outcome the teardown of `provider`'s value must see in a request of
    /// this mode. Setup order: `tag` (after the response), `conn`, `tx`,
    /// `gate`, two `nonce`s; teardown runs in reverse.
    fn expected_outcome(self, provider: &str) -> Outcome {
        match (self, provider) {
            (Self::Ok | Self::Stream, _) => Outcome::Success,
            // `tx`'s commit fails: it saw the success, and from then on the
            // response is a 500, which is what the values torn down after it
            // (`conn`, then `tag` after the response) see.
            (Self::TeardownError, "nonce" | "tx") => Outcome::Success,
            (Self::TeardownError, _) => Outcome::ErrorResponse { status: 500 },
            (Self::HandlerError, _) => Outcome::ErrorResponse { status: 422 },
            (Self::Panic, _) => Outcome::Panicked,
            (Self::SetupError, _) => Outcome::SetupFailed,
            (Self::Disconnect, _) => Outcome::Cancelled,
            // The body holds `tx`: `tx`, `conn` and `tag` wait for the body,
            // which the client cut; the `nonce`s were torn down before the
            // response, with its success.
            (Self::StreamCut, "nonce") => Outcome::Success,
            (Self::StreamCut, _) => Outcome::Cancelled,
        }
    }
}

/// (provider, value) -> (request, outcome seen by its teardown)
type Teardowns = HashMap<(&'static str, u64), (u64, Outcome)>;

/// Every setup and teardown, by provider and value.
#[derive(Default)]
struct LedgerInner {
    next_value: AtomicU64,
    setups: Mutex<HashMap<&'static str, usize>>,
    teardowns: Mutex<Teardowns>,
    torn_down_twice: AtomicUsize,
    started: Mutex<Vec<u64>>,
}

#[derive(Clone, Default)]
struct Ledger(Arc<LedgerInner>);

impl Ledger {
    fn setup(&self, provider: &'static str) -> u64 {
        *self.0.setups.lock().expect("lock").entry(provider).or_default() += 1;
        self.0.next_value.fetch_add(1, Ordering::Relaxed)
    }

    fn teardown(&self, provider: &'static str, value: u64, request: u64, outcome: Outcome) {
        if self.0.teardowns.lock().expect("lock").insert((provider, value), (request, outcome)).is_some() {
            self.0.torn_down_twice.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn started(&self, request: u64) -> bool {
        self.0.started.lock().expect("lock").contains(&request)
    }
}

/// A stand-in for a connection pool: counts connections out.
#[derive(Default)]
struct Pool {
    in_use: Arc<AtomicUsize>,
}

struct Conn;

#[provider(scope = app)]
fn ledger() -> Ledger {
    Ledger::default()
}

#[provider(scope = app)]
fn pool() -> Pool {
    Pool::default()
}

struct Tag {
    request: u64,
    mode: Mode,
}

/// Registers a teardown that records `provider`'s value in the ledger.
fn tracked<T: Send + Sync + 'static>(
    provider: &'static str,
    value: T,
    ledger: &Ledger,
    request: u64,
) -> Teardown<T> {
    let id = ledger.setup(provider);
    let ledger = ledger.clone();
    Teardown::new(value, move |_, outcome| async move { ledger.teardown(provider, id, request, outcome) })
}

#[provider(teardown = after_response)]
fn tag(headers: HeaderMap, ledger: Dep<Ledger>) -> Teardown<Tag> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let request = header("x-request").parse().unwrap_or(u64::MAX);
    let tag = Tag { request, mode: Mode::parse(&header("x-mode")) };
    tracked("tag", tag, &ledger, request)
}

#[provider]
fn conn(pool: Dep<Pool>, tag: Dep<Tag>, ledger: Dep<Ledger>) -> Teardown<Conn> {
    pool.in_use.fetch_add(1, Ordering::SeqCst);
    let id = ledger.setup("conn");
    let (ledger, in_use, request) = (ledger.clone(), Arc::clone(&pool.in_use), tag.request);
    Teardown::new(Conn, move |_, outcome| async move {
        in_use.fetch_sub(1, Ordering::SeqCst);
        ledger.teardown("conn", id, request, outcome);
    })
}

struct Tx;

#[provider]
async fn tx(_conn: Dep<Conn>, tag: Dep<Tag>, ledger: Dep<Ledger>) -> Teardown<Tx> {
    let id = ledger.setup("tx");
    let (ledger, request, fails) = (ledger.clone(), tag.request, tag.mode == Mode::TeardownError);
    Teardown::new(Tx, move |_, outcome| async move {
        ledger.teardown("tx", id, request, outcome);
        if fails { Err(std::io::Error::other("commit failed")) } else { Ok(()) }
    })
}

#[derive(Debug)]
struct Unavailable;

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

struct Gate;

#[provider]
async fn gate(_tx: Dep<Tx>, tag: Dep<Tag>) -> Result<Gate, Unavailable> {
    if tag.mode == Mode::SetupError { Err(Unavailable) } else { Ok(Gate) }
}

struct Nonce;

#[provider(scope = transient)]
fn nonce(tag: Dep<Tag>, ledger: Dep<Ledger>) -> Teardown<Nonce> {
    tracked("nonce", Nonce, &ledger, tag.request)
}

#[providers(ledger, pool, tag, conn, tx, gate, nonce)]
struct ChaosProviders;

#[handler(ChaosProviders)]
async fn work(
    tag: Dep<Tag>,
    _gate: Dep<Gate>,
    _a: Dep<Nonce>,
    _b: Dep<Nonce>,
    tx: Dep<Tx>,
    ledger: Dep<Ledger>,
) -> Result<Response, StatusCode> {
    match tag.mode {
        Mode::HandlerError => Err(StatusCode::UNPROCESSABLE_ENTITY),
        Mode::Panic => panic!("chaos panic"),
        Mode::Disconnect => {
            ledger.0.started.lock().expect("lock").push(tag.request);
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok("too late".into_response())
        }
        Mode::Stream | Mode::StreamCut => {
            // The body holds the transaction; `stream-forever` sends a chunk
            // every 2 ms for a minute (its client cuts it after the first).
            let chunks = if tag.mode == Mode::Stream { 3 } else { 30_000 };
            let body = futures_util::stream::iter(0..chunks).then(move |n| {
                let _held = &tx;
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    Ok::<_, std::io::Error>(format!("chunk{n};"))
                }
            });
            Ok(axum::body::Body::from_stream(body).into_response())
        }
        Mode::Ok | Mode::SetupError | Mode::TeardownError => Ok("done".into_response()),
    }
}

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mixed_requests_keep_every_teardown_guarantee() {
    let seed = std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    println!("CHAOS_SEED={seed}");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>().is_none_or(|m| *m != "chaos panic") {
            default_hook(info);
        }
    }));

    let app = App::<ChaosProviders>::builder().build().await.expect("app builds");
    let ledger = app.get::<Ledger>().await.expect("ledger").clone();
    let router: Router = Router::new().route("/work", get(work)).with_providers(&app);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let (stop, server) = axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
    let pool_probe = app.get::<Pool>().await.expect("pool");
    drop(app);

    let mut rng = Rng(seed);
    let modes: Vec<Mode> = (0..REQUESTS).map(|_| Mode::pick(rng.next())).collect();
    let client = reqwest::Client::new();
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut requests = JoinSet::new();
    let started = Instant::now();
    for (request, &mode) in modes.iter().enumerate() {
        let permit = Arc::clone(&limit).acquire_owned().await.expect("semaphore");
        let (client, address, ledger) = (client.clone(), address.clone(), ledger.clone());
        requests.spawn(async move {
            let request = request as u64;
            let status = if mode == Mode::StreamCut {
                // Reads the head and the first chunk, then goes away.
                let mut stream = TcpStream::connect(&address).await.expect("connect");
                let head = format!(
                    "GET /work HTTP/1.1\r\nhost: chaos\r\nx-request: {request}\r\nx-mode: stream-forever\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await.expect("write");
                let mut received = Vec::new();
                let mut buffer = [0_u8; 1024];
                while !String::from_utf8_lossy(&received).contains("chunk0;") {
                    let read = stream.read(&mut buffer).await.expect("read");
                    assert!(read > 0, "the stream of request {request} ended early");
                    received.extend_from_slice(&buffer[..read]);
                }
                drop(stream);
                None
            } else if mode == Mode::Disconnect {
                let mut stream = TcpStream::connect(&address).await.expect("connect");
                let head = format!(
                    "GET /work HTTP/1.1\r\nhost: chaos\r\nx-request: {request}\r\nx-mode: hang\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await.expect("write");
                while !ledger.started(request) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                drop(stream);
                None
            } else {
                let response = client
                    .get(format!("http://{address}/work"))
                    .header("x-request", request.to_string())
                    .header("x-mode", mode.header())
                    .send()
                    .await
                    .expect("send");
                let status = response.status().as_u16();
                let body = response.text().await.expect("body");
                if mode == Mode::Stream {
                    assert_eq!(body, "chunk0;chunk1;chunk2;", "request {request} got the whole stream");
                }
                Some(status)
            };
            drop(permit);
            (request, mode, status)
        });
    }
    while let Some(done) = requests.join_next().await {
        let (request, mode, status) = done.expect("request task");
        assert_eq!(status, mode.expected_status(), "request {request} ({mode:?}) got the wrong response");
    }
    let elapsed = started.elapsed();

    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
    println!("{REQUESTS} requests in {elapsed:?}");

    let setups = ledger.0.setups.lock().expect("lock").clone();
    let teardowns = ledger.0.teardowns.lock().expect("lock").clone();
    assert_eq!(ledger.0.torn_down_twice.load(Ordering::Relaxed), 0, "a value was torn down twice");
    for (provider, count) in &setups {
        let torn = teardowns.keys().filter(|(p, _)| p == provider).count();
        assert_eq!(torn, *count, "provider `{provider}`: {count} setups, {torn} teardowns");
    }
    for provider in ["tag", "conn", "tx", "nonce"] {
        assert!(setups.get(provider).copied().unwrap_or_default() > 0, "provider `{provider}` never ran");
    }
    for ((provider, _), (request, outcome)) in &teardowns {
        let mode = modes[*request as usize];
        assert_eq!(*outcome, mode.expected_outcome(provider), "`{provider}` of request {request} ({mode:?})");
    }
    assert_eq!(pool_probe.in_use.load(Ordering::SeqCst), 0, "a pooled connection leaked");
    drop(pool_probe);
    assert_eq!(Arc::strong_count(&ledger.0), 1, "a value holding the ledger leaked");
}
