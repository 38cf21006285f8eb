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
    }
}

type Stop = tokio::sync::oneshot::Sender<()>;
type Served = tokio::task::JoinHandle<Result<(), axum_providers::ServeError>>;

/// The notes app on 127.0.0.1, in the background: its base URL, and how to stop it.
async fn serve_notes(config: Config) -> (String, Stop, Served) {
    let app =
        App::<NotesProviders>::builder().override_value(config).build().await.expect("notes app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, server) =
        axum_providers_tests::in_background(axum_providers::serve(listener, router(&app), &app));
    (base, stop, server)
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
