//! The example application, over a real server, on SQLite (a temporary file)
//! and on PostgreSQL (a fresh database): the README's curl session, answer by
//! answer.

use std::time::Duration;

use axum_providers::App;
use notes::{Config, NotesProviders, parse_tokens, router};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn config(database_url: String) -> Config {
    Config {
        database_url,
        address: "127.0.0.1:0".into(),
        tokens: parse_tokens("alice-token=alice,bob-token=bob"),
        max_connections: 4,
        acquire_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(10),
    }
}

type Stop = tokio::sync::oneshot::Sender<()>;
type Served = tokio::task::JoinHandle<Result<(), axum_providers::ServeError>>;

/// The notes app on 127.0.0.1, in the background: its base URL, and how to stop it.
async fn serve_notes(config: Config) -> (String, Stop, Served) {
    let (base, stop, server, _) = serve_notes_with_pool(config).await;
    (base, stop, server)
}

/// [`serve_notes`], and the app's pool.
async fn serve_notes_with_pool(config: Config) -> (String, Stop, Served, sqlx::AnyPool) {
    let app =
        App::<NotesProviders>::builder().override_value(config).build().await.expect("notes app builds");
    let pool = app.get::<sqlx::AnyPool>().await.expect("pool").clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, server) =
        axum_providers_tests::in_background(axum_providers::serve(listener, router(&app), &app));
    (base, stop, server, pool)
}

fn postgres_url(connect: &PgConnectOptions) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{}", connect.get_database().expect("a test database"))
}

/// The README's session: every call with its expected status and body.
async fn readme_session(config: Config) {
    let (base, stop, server) = serve_notes(config).await;
    let client = reqwest::Client::new();
    let alice = "Bearer alice-token";

    let response = client.get(format!("{base}/notes")).send().await.expect("send");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"error": "missing or unknown bearer token"})
    );

    let response = client
        .post(format!("{base}/notes"))
        .header("authorization", alice)
        .json(&json!({"title": "Buy milk", "body": "2 litres"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    let created = response.json::<Value>().await.expect("json");
    assert_eq!(created["title"], "Buy milk");
    assert_eq!(created["body"], "2 litres");
    let id = created["id"].as_i64().expect("an id");

    let response = client
        .post(format!("{base}/notes"))
        .header("authorization", alice)
        .json(&json!({"title": "   "}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"error": "invalid note: the title must have 1 to 200 characters"})
    );

    let response =
        client.get(format!("{base}/notes")).header("authorization", alice).send().await.expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!([{"id": id, "title": "Buy milk", "body": "2 litres"}])
    );

    let response = client
        .get(format!("{base}/notes/{id}"))
        .header("authorization", "Bearer bob-token")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404, "bob cannot see alice's note");
    assert_eq!(response.json::<Value>().await.expect("json"), json!({"error": "note not found"}));

    let response = client
        .delete(format!("{base}/notes/{id}"))
        .header("authorization", alice)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 204);
    let response =
        client.get(format!("{base}/notes/{id}")).header("authorization", alice).send().await.expect("send");
    assert_eq!(response.status(), 404);

    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_session_on_sqlite() {
    let directory = std::env::temp_dir().join(format!("notes-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let file = directory.join("notes.db");
    let _ = std::fs::remove_file(&file);
    readme_session(config(format!("sqlite://{}?mode=rwc", file.display()))).await;
    let _ = std::fs::remove_dir_all(&directory);
}

#[sqlx::test(migrations = false)]
async fn the_readme_session_on_postgres(_: PgPoolOptions, connect: PgConnectOptions) {
    readme_session(config(postgres_url(&connect))).await;
}

/// PostgreSQL's text cannot hold NUL: the example says so with a `422`, as on
/// SQLite, instead of a `500` from the database.
#[sqlx::test(migrations = false)]
async fn a_nul_in_a_note_answers_422_on_postgres(_: PgPoolOptions, connect: PgConnectOptions) {
    let (base, stop, server) = serve_notes(config(postgres_url(&connect))).await;
    let client = reqwest::Client::new();
    for note in [json!({"title": "a\u{0}b"}), json!({"title": "ok", "body": "x\u{0}"})] {
        let response = client
            .post(format!("{base}/notes"))
            .header("authorization", "Bearer alice-token")
            .json(&note)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 422, "{note}");
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"error": "invalid note: the title and body cannot contain NUL characters"})
        );
    }
    let response =
        client.get(format!("{base}/notes")).header("authorization", "Bearer alice-token").send().await;
    assert_eq!(response.expect("send").json::<Value>().await.expect("json"), json!([]));
    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
}

/// The banner, and the `Debug` of the example's config and of the settings,
/// never show the database password.
#[test]
fn the_banner_and_debug_output_hide_the_password() {
    let config = config("postgres://postgres:S3cret@127.0.0.1:5432/notes?sslmode=disable".into());
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], 3000));
    assert_eq!(
        notes::banner(address, &config),
        "notes listening on http://127.0.0.1:3000 (database: postgres://postgres:***@127.0.0.1:5432/notes)"
    );
    let settings = axum_providers::database::DatabaseSettings::new(&config.database_url);
    let redis = axum_providers::redis::RedisSettings::new("redis://:S3cret@127.0.0.1:6379/0");
    for debug in [format!("{config:?}"), format!("{settings:?}"), format!("{redis:?}")] {
        assert!(!debug.contains("S3cret"), "{debug}");
        assert!(debug.contains(":***@127.0.0.1"), "{debug}");
    }
}

/// A temporary SQLite file for one test.
fn sqlite_url(test: &str) -> (std::path::PathBuf, String) {
    let directory = std::env::temp_dir().join(format!("notes-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", directory.join("notes.db").display());
    (directory, url)
}

/// Every error of the example is JSON with the usual status: a body too
/// large `413`, not JSON `415`, malformed JSON `400`, a malformed id `400`,
/// an unknown route `404`, an unknown method `405` (with `Allow`); the
/// `bearer` scheme in any case is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_json_with_the_usual_status() {
    let (directory, url) = sqlite_url("errors");
    let (base, stop, server) = serve_notes(config(url)).await;
    let client = reqwest::Client::new();
    let alice = "Bearer alice-token";
    let expect = |status: u16, error: &'static str| {
        move |response: reqwest::Response| async move {
            assert_eq!(response.status().as_u16(), status, "{error}");
            assert_eq!(response.headers()["content-type"], "application/json", "{error}");
            let body = response.json::<Value>().await.expect("json");
            assert_eq!(body["error"].as_str().map(|text| text.starts_with(error)), Some(true), "{body}");
            body
        }
    };

    // Beyond axum's default limit of 2 MiB. A client of its own: the server
    // closes this connection after answering before the body was read.
    let huge = format!(r#"{{"title":"big","body":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let response = reqwest::Client::new()
        .post(format!("{base}/notes"))
        .header("authorization", alice)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    expect(413, "the request body is too large")(response).await;

    let response = client
        .post(format!("{base}/notes"))
        .header("authorization", alice)
        .header("content-type", "text/plain")
        .body(r#"{"title":"plain"}"#)
        .send()
        .await
        .expect("send");
    expect(415, "expected `content-type: application/json`")(response).await;

    let response = client
        .post(format!("{base}/notes"))
        .header("authorization", alice)
        .header("content-type", "application/json")
        .body(r#"{"title": "#)
        .send()
        .await
        .expect("send");
    expect(400, "the request body is not valid JSON")(response).await;

    let response =
        client.get(format!("{base}/notes/abc")).header("authorization", alice).send().await.expect("send");
    let body = expect(400, "invalid note id: expected a whole number")(response).await;
    assert!(!body.to_string().contains("i64"), "{body}");

    let response = client.get(format!("{base}/nowhere")).send().await.expect("send");
    expect(404, "not found")(response).await;

    let response =
        client.put(format!("{base}/notes")).header("authorization", alice).send().await.expect("send");
    assert_eq!(response.headers()["allow"], "GET,HEAD,POST");
    expect(405, "method not allowed")(response).await;

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = client
            .get(format!("{base}/notes"))
            .header("authorization", format!("{scheme} alice-token"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{scheme}");
    }

    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&directory);
}

/// A malformed id is answered `400` before a connection is taken: also while
/// every connection of the pool is in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_answers_400_with_the_pool_exhausted() {
    let (directory, url) = sqlite_url("exhausted");
    let config = Config { max_connections: 1, acquire_timeout: Duration::from_millis(300), ..config(url) };
    let (base, stop, server, pool) = serve_notes_with_pool(config).await;
    let held = pool.acquire().await.expect("the pool's only connection");
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{base}/notes/abc"))
        .header("authorization", "Bearer alice-token")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let response = client
        .get(format!("{base}/notes/1"))
        .header("authorization", "Bearer alice-token")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 503, "the pool is exhausted indeed");
    drop((held, pool));
    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&directory);
}

/// A client that sends its headers and then no body holds no connection:
/// the body is read before the transaction takes one, so other requests are
/// served meanwhile; the slow client is answered `408` after the body timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_no_body_holds_no_connection() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (directory, url) = sqlite_url("slow-body");
    let config = Config {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(800),
        ..config(url)
    };
    let (base, stop, server) = serve_notes(config).await;
    let address = base.trim_start_matches("http://").to_owned();

    let mut slow = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let head = "POST /notes HTTP/1.1\r\nhost: notes\r\nauthorization: Bearer alice-token\r\n\
                content-type: application/json\r\ncontent-length: 40\r\nexpect: 100-continue\r\n\r\n";
    slow.write_all(head.as_bytes()).await.expect("write");
    // hyper answers `100 Continue` when the server starts reading the body:
    // from here on, a connection taken before the body would be held.
    let mut received = Vec::new();
    while !String::from_utf8_lossy(&received).contains("\r\n\r\n") {
        let mut chunk = [0; 256];
        let read = slow.read(&mut chunk).await.expect("read");
        assert!(read > 0, "closed before 100 Continue");
        received.extend_from_slice(&chunk[..read]);
    }
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 100 Continue"));

    let response = reqwest::Client::new()
        .get(format!("{base}/notes"))
        .header("authorization", "Bearer alice-token")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200, "served while the slow client sends nothing");

    let mut rest = String::new();
    tokio::time::timeout(Duration::from_secs(5), slow.read_to_string(&mut rest))
        .await
        .expect("answered within the body timeout")
        .expect("read");
    assert!(rest.starts_with("HTTP/1.1 408 Request Timeout"), "{rest}");
    assert!(rest.ends_with(r#"{"error":"the request body did not arrive in time"}"#), "{rest}");

    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&directory);
}

/// The graph in the README is the one `cargo run -p notes -- --graph` prints.
#[test]
fn the_readme_shows_the_graph_the_example_prints() {
    let readme = include_str!("../../README.md");
    let printed = axum_providers::Graph::of::<notes::NotesProviders>().mermaid();
    let shown = readme
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a mermaid block");
    assert_eq!(shown, printed);
}
