//! The Redis example over a real server and a real Redis (`REDIS_URL`,
//! default `redis://127.0.0.1:6379`): messages published on a channel reach
//! the WebSocket, and the subscription is torn down when the socket closes.

use std::time::{Duration, Instant};

use axum_providers::App;
use futures_util::StreamExt as _;
use live::{Config, LiveProviders, router};
use tokio_tungstenite::tungstenite::Message;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// How many subscribers Redis counts on `channel`.
async fn subscribers(redis: &mut redis::aio::MultiplexedConnection, channel: &str) -> i64 {
    let counts: Vec<(String, i64)> =
        redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query_async(redis).await.expect("PUBSUB NUMSUB");
    counts.first().map_or(0, |(_, count)| *count)
}

async fn wait_for_subscribers(redis: &mut redis::aio::MultiplexedConnection, channel: &str, expected: i64) {
    let started = Instant::now();
    while subscribers(redis, channel).await != expected {
        assert!(started.elapsed() < Duration::from_secs(5), "`{channel}` never had {expected} subscriber(s)");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_streams_a_channel_and_unsubscribes_when_it_closes() {
    let config = Config { redis_url: redis_url(), address: "127.0.0.1:0".into() };
    let app = App::<LiveProviders>::builder()
        .override_value(config)
        .build()
        .await
        .expect("app builds (is Redis up?)");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, server) =
        axum_providers_tests::in_background(axum_providers::serve(listener, router(&app), &app));
    let mut redis = redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let channel = format!("news-{}", std::process::id());

    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/feed/{channel}")).await.expect("websocket");
    wait_for_subscribers(&mut redis, &channel, 1).await;

    let client = reqwest::Client::new();
    for headline in ["rust 2024 ships", "providers land in axum"] {
        let response = client
            .post(format!("http://{address}/publish/{channel}"))
            .body(headline)
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.text().await.expect("body"), "1\n", "one subscriber received it");
        let received = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message in time")
            .expect("a message")
            .expect("a websocket message");
        assert_eq!(received, Message::text(headline));
    }

    socket.close(None).await.expect("close");
    drop(socket);
    wait_for_subscribers(&mut redis, &channel, 0).await;

    let _ = stop.send(());
    server.await.expect("server task").expect("clean shutdown");
}
