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

/// The README's session: every call with its expected status and body.
async fn readme_session(config: Config) {
    let app =
        App::<NotesProviders>::builder().override_value(config).build().await.expect("notes app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, server) =
        axum_providers_tests::in_background(axum_providers::serve(listener, router(&app), &app));
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
    let database = connect.get_database().expect("a test database");
    readme_session(config(format!("postgres://postgres@127.0.0.1:5432/{database}"))).await;
}
