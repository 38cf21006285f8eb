//! `serve`: SIGTERM and SIGINT drain, one deadline for the whole shutdown
//! (requests still running then are cut, their values torn down as
//! cancelled, the exit code is 0), any listener, `ConnectInfo`, the app
//! still readable afterwards, and handler panics reported once when asked.
//! Signals go to a child process (`src/bin/lifecycle-server.rs`).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum_providers::prelude::*;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The child server, with its output read line by line.
struct ChildServer {
    child: Child,
    address: String,
    stdout: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stderr: tokio::task::JoinHandle<String>,
}

impl ChildServer {
    async fn start(envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifecycle-server"))
            .envs(envs.iter().copied())
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the lifecycle server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (sender, mut stdout) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sender.send(line);
            }
        });
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text).await;
            text
        });
        let first = tokio::time::timeout(Duration::from_secs(30), stdout.recv())
            .await
            .expect("the server says where it listens")
            .expect("a line");
        let address = first.strip_prefix("listening on ").expect("`listening on ADDRESS`").to_owned();
        Self { child, address, stdout, seen: Vec::new(), stderr }
    }

    /// Waits (up to 10 s) for `line` on stdout.
    async fn wait_for(&mut self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.seen.iter().any(|seen| seen == line) {
            let next = tokio::time::timeout_at(deadline.into(), self.stdout.recv()).await;
            match next {
                Ok(Some(next)) => self.seen.push(next),
                _ => panic!("no `{line}` from the server; it printed {:?}", self.seen),
            }
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill").args([signal, &pid]).status().expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Waits for the exit; its status, every stdout line and the stderr text.
    async fn exit(mut self, within: Duration) -> (std::process::ExitStatus, Vec<String>, String) {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!("the server did not exit within {within:?}; it printed {:?}", self.seen)
            })
            .expect("wait");
        while let Some(line) = self.stdout.recv().await {
            self.seen.push(line);
        }
        let stderr = self.stderr.await.expect("stderr");
        (status, self.seen, stderr)
    }
}

/// Sends a request without waiting for its answer; the stream reads it.
async fn send(address: &str, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

async fn response(mut stream: TcpStream) -> String {
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text).await;
    text
}

fn pos(lines: &[String], line: &str) -> usize {
    lines.iter().position(|l| l == line).unwrap_or_else(|| panic!("no `{line}` in {lines:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_then_tears_the_app_down() {
    let mut server = ChildServer::start(&[]).await;
    let slow =
        send(&server.address, "GET /slow HTTP/1.1\r\nhost: t\r\nx-id: slow1\r\nconnection: close\r\n\r\n")
            .await;
    server.wait_for("setup tx slow1").await;
    server.signal("-TERM");
    let answer = response(slow).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the request in flight finished: {answer}");
    assert!(answer.ends_with("slow slow1"), "{answer}");
    let (status, lines, stderr) = server.exit(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(0), "exit code; stderr: {stderr}");
    assert!(
        pos(&lines, "teardown tx slow1 (success)") < pos(&lines, "teardown config (shutdown)"),
        "{lines:?}"
    );
    assert!(stderr.contains("cause=\"SIGTERM\""), "the log says why: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_drains_too() {
    let mut server = ChildServer::start(&[]).await;
    // Served once: the server is past its start (and listens for signals).
    let answer = response(
        send(&server.address, "GET /ok HTTP/1.1\r\nhost: t\r\nx-id: i1\r\nconnection: close\r\n\r\n").await,
    )
    .await;
    assert!(answer.ends_with("ok i1"), "{answer}");
    server.wait_for("teardown tx i1 (success)").await;
    server.signal("-INT");
    let (status, lines, stderr) = server.exit(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(0), "exit code; stderr: {stderr}");
    assert!(lines.contains(&"teardown config (shutdown)".to_owned()), "{lines:?}");
    assert!(stderr.contains("cause=\"SIGINT\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_deadline_what_still_runs_is_cut_torn_down_as_cancelled_and_the_exit_code_is_0() {
    let mut server = ChildServer::start(&[("SHUTDOWN_TIMEOUT_MS", "1000")]).await;
    let hang = send(&server.address, "GET /hang HTTP/1.1\r\nhost: t\r\nx-id: hang1\r\n\r\n").await;
    // An upload that stalls after 10 of its 100 bytes.
    let upload = send(
        &server.address,
        "POST /upload HTTP/1.1\r\nhost: t\r\nx-id: up1\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789",
    )
    .await;
    let endless = send(&server.address, "GET /endless HTTP/1.1\r\nhost: t\r\nx-id: st1\r\n\r\n").await;
    let socket = {
        let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            format!("ws://{}/socket", server.address),
        )
        .map(|mut request| {
            request.headers_mut().insert("x-id", "ws1".parse().expect("header"));
            request
        })
        .expect("request");
        tokio_tungstenite::connect_async(request).await.expect("connect").0
    };
    for id in ["hang1", "up1", "st1", "ws1"] {
        server.wait_for(&format!("setup tx {id}")).await;
    }
    let signalled = Instant::now();
    server.signal("-TERM");
    let answer = response(hang).await;
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "a request still running at the deadline is answered 503: {answer}"
    );
    let (status, lines, stderr) = server.exit(Duration::from_secs(8)).await;
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "exit code; stderr: {stderr}");
    assert!(took >= Duration::from_millis(900), "the drain waited for the deadline ({took:?})");
    assert!(took < Duration::from_secs(4), "one deadline for the whole shutdown ({took:?})");
    // The request, the stalled upload, the streaming body and the socket: all cut.
    for id in ["hang1", "up1", "st1", "ws1"] {
        let line = format!("teardown tx {id} (cancelled)");
        assert!(pos(&lines, &line) < pos(&lines, "teardown config (shutdown)"), "{lines:?}");
    }
    assert!(
        stderr.contains("shutdown deadline passed with requests still running; cutting them"),
        "{stderr}"
    );
    let streamed = response(endless).await;
    assert!(
        streamed.contains("st1 chunk0;") && !streamed.ends_with("0\r\n\r\n"),
        "the body was cut: {streamed}"
    );
    drop((upload, socket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panics_go_to_the_panic_hook_unless_quieted() {
    for quiet in ["0", "1"] {
        let mut server = ChildServer::start(&[("QUIET_PANICS", quiet)]).await;
        let answer = response(
            send(&server.address, "GET /panic HTTP/1.1\r\nhost: t\r\nx-id: p1\r\nconnection: close\r\n\r\n")
                .await,
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        server.wait_for("teardown tx p1 (panicked)").await;
        let caught = response(
            send(
                &server.address,
                "GET /caught-panic HTTP/1.1\r\nhost: t\r\nx-id: p2\r\nconnection: close\r\n\r\n",
            )
            .await,
        )
        .await;
        assert!(caught.starts_with("HTTP/1.1 500") && caught.ends_with("caught"), "{caught}");
        server.signal("-TERM");
        let (status, _, stderr) = server.exit(Duration::from_secs(5)).await;
        assert_eq!(status.code(), Some(0));
        assert!(stderr.contains("handler panicked; answering 500"), "the layer logs it: {stderr}");
        let hook_printed = stderr.contains("panicked at");
        if quiet == "1" {
            assert!(!hook_printed, "the standard hook is quiet: {stderr}");
            assert!(
                stderr.contains("location=tests/src/bin/lifecycle-server.rs"),
                "the log names where: {stderr}"
            );
            assert!(
                stderr.contains("a panic in the handler was caught inside the providers layer"),
                "a panic another layer caught is still reported: {stderr}"
            );
        } else {
            assert!(hook_printed, "by default the standard hook prints it too: {stderr}");
        }
    }
}

/// In process: `serve` takes what `axum::serve` takes.
mod in_process {
    use super::*;

    #[derive(Clone)]
    struct Greeting(&'static str);

    #[provider(scope = app)]
    fn greeting() -> Greeting {
        Greeting("hello")
    }

    struct Closed;

    #[provider(scope = app)]
    fn closed() -> Teardown<Closed> {
        Teardown::new(Closed, |_, _| async {})
    }

    /// The client's address, through axum's `ConnectInfo` extractor.
    struct Peer(SocketAddr);

    #[provider]
    fn peer(ConnectInfo(address): ConnectInfo<SocketAddr>) -> Peer {
        Peer(address)
    }

    /// A journal of what happened, shared with the test.
    #[derive(Clone, Default)]
    struct Events(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl Events {
        fn record(&self, event: impl Into<String>) {
            self.0.lock().expect("lock").push(event.into());
        }

        fn all(&self) -> Vec<String> {
            self.0.lock().expect("lock").clone()
        }
    }

    #[provider(scope = app)]
    fn events() -> Events {
        Events::default()
    }

    /// An app value with a teardown, used by the handlers.
    struct Store;

    #[provider(scope = app)]
    fn store(events: Dep<Events>) -> Teardown<Store> {
        let events = events.clone();
        Teardown::new(
            Store,
            move |_, outcome| async move { events.record(format!("teardown store ({outcome})")) },
        )
    }

    /// A transaction whose commit takes 400 ms.
    struct SlowCommit;

    #[provider]
    fn slow_commit(events: Dep<Events>) -> Teardown<SlowCommit> {
        let events = events.clone();
        Teardown::new(SlowCommit, move |_, outcome| async move {
            events.record("commit started");
            tokio::time::sleep(Duration::from_millis(400)).await;
            events.record(format!("commit done ({outcome})"));
        })
    }

    /// An app value whose teardown takes 100 ms.
    struct SlowClose;

    #[provider(scope = app)]
    fn slow_close(events: Dep<Events>) -> Teardown<SlowClose> {
        let events = events.clone();
        Teardown::new(SlowClose, move |_, _| async move {
            events.record("slow teardown started");
            tokio::time::sleep(Duration::from_millis(100)).await;
            events.record("slow teardown done");
        })
    }

    #[providers(greeting, closed, peer, events, store, slow_commit, slow_close)]
    struct InProcess;

    #[handler(InProcess)]
    async fn uses_store(_store: Dep<Store>) -> &'static str {
        "stored"
    }

    #[handler(InProcess)]
    async fn commits(_tx: Dep<SlowCommit>) -> &'static str {
        "committed"
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn app_teardown_waits_for_requests_not_yet_in_the_providers_layer() {
        let app = App::<InProcess>::builder().build().await.expect("app");
        let events = app.get::<Events>().await.expect("events").clone();
        // An outer middleware holds the request for 300 ms before the
        // providers layer sees it: no scope is open meanwhile.
        let router =
            Router::new().route("/", get(uses_store)).with_providers(&app).layer(axum::middleware::from_fn(
                |request: axum::extract::Request, next: axum::middleware::Next| async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    next.run(request).await
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, server) =
            axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
        let request = tokio::spawn(reqwest::get(format!("http://{address}/")));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = stop.send(());
        let response = request.await.expect("task").expect("response");
        assert_eq!(response.status().as_u16(), 200, "the app was not torn down under the request");
        assert_eq!(response.text().await.expect("body"), "stored");
        server.await.expect("task").expect("clean shutdown");
        assert_eq!(
            events.all(),
            ["slow teardown started", "slow teardown done", "teardown store (shutdown)"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_committing_at_the_deadline_is_not_cut() {
        let app = App::<InProcess>::builder()
            .shutdown_timeout(Duration::from_millis(300))
            .build()
            .await
            .expect("app");
        let events = app.get::<Events>().await.expect("events").clone();
        let router = Router::new().route("/", get(commits)).with_providers(&app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, server) =
            axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
        let request = tokio::spawn(reqwest::get(format!("http://{address}/")));
        while !events.all().contains(&"commit started".to_owned()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = stop.send(()); // the deadline passes 300 ms later, mid-commit
        let response = request.await.expect("task").expect("response");
        assert_eq!(response.status().as_u16(), 200, "the client is told what the commit did");
        server.await.expect("task").expect("clean shutdown");
        assert_eq!(
            events.all(),
            [
                "commit started",
                "commit done (success)",
                "slow teardown started",
                "slow teardown done",
                "teardown store (shutdown)"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_shutdown_waits_for_the_first_and_readiness_drops_at_once() {
        let app = App::<InProcess>::builder().build().await.expect("app");
        let events = app.get::<Events>().await.expect("events").clone();
        assert!(app.health(Duration::from_secs(1)).await.is_ready());
        let first = tokio::spawn({
            let app = app.clone();
            async move { app.shutdown().await }
        });
        while !events.all().contains(&"slow teardown started".to_owned()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!app.health(Duration::from_secs(1)).await.is_ready(), "not ready once shutting down");
        // The first is in the middle of a 100 ms app teardown.
        app.shutdown().await.expect("second shutdown");
        assert!(
            events.all().contains(&"slow teardown done".to_owned()),
            "the second returned after the first finished: {:?}",
            events.all()
        );
        first.await.expect("task").expect("first shutdown");
        assert!(app.cancellation().is_cancelled(), "the shutdown is over: the cancellation fired");
    }

    #[handler(InProcess)]
    async fn who(greeting: Dep<Greeting>, peer: Dep<Peer>) -> String {
        format!("{} {}", greeting.0, peer.0.ip())
    }

    #[handler(InProcess)]
    async fn hi(greeting: Dep<Greeting>) -> &'static str {
        greeting.0
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_connect_info() {
        let app = App::<InProcess>::builder().build().await.expect("app");
        let router = Router::new().route("/", get(who)).with_providers(&app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, server) = axum_providers_tests::in_background(axum_providers::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
            &app,
        ));
        let body = reqwest::get(format!("http://{address}/")).await.expect("get").text().await.expect("body");
        assert_eq!(body, "hello 127.0.0.1");
        let _ = stop.send(());
        server.await.expect("task").expect("clean shutdown");
        // The app is still ours: values without teardown can be read, torn-down ones cannot.
        assert_eq!(app.get::<Greeting>().await.expect("still there").0, "hello");
        assert!(app.get::<Closed>().await.is_err(), "torn down at shutdown");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_unix_socket() {
        let app = App::<InProcess>::builder().build().await.expect("app");
        let router = Router::new().route("/", get(hi)).with_providers(&app);
        let dir = std::env::temp_dir().join(format!("axum-providers-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("server.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let (stop, server) =
            axum_providers_tests::in_background(axum_providers::serve(listener, router, &app));
        let mut stream = tokio::net::UnixStream::connect(&path).await.expect("connect");
        stream.write_all(b"GET / HTTP/1.1\r\nhost: unix\r\nconnection: close\r\n\r\n").await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer}");
        let _ = stop.send(());
        server.await.expect("task").expect("clean shutdown");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
