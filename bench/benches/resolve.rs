//! Criterion micro-benchmarks of the runtime:
//!
//! - `app_value`: resolving a cached app-scoped value;
//! - `request_graph_7`: a request graph of 7 providers (2 app, 4 request,
//!   1 transient, one with an async teardown) set up in a scope and torn down;
//! - `teardown_8`: the teardown machinery alone: closing a scope that holds 8
//!   values with teardowns;
//! - `*_request`: one request through each server's real router, in process
//!   (`/plain`, `/deps`, `/deps-handler`, and `/tx` against PostgreSQL), and
//!   the hand-written router under an identity `Router::layer`;
//! - `three_100ms/*`: a handler that takes three values whose providers each
//!   wait 100 ms (a timer), one after the other (plain handler) and set up
//!   together (`#[handler]`).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum_providers::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};

struct Config {
    prefix: String,
}
#[derive(Default)]
struct Counter(AtomicU64);
struct RequestId(u64);
struct User(String);
struct Session(usize);
struct Audit(usize);
struct Nonce(u64);

#[provider(scope = app)]
fn config() -> Config {
    Config { prefix: "user-".into() }
}

#[provider(scope = app)]
fn counter() -> Counter {
    Counter::default()
}

#[provider]
fn request_id(counter: Dep<Counter>) -> RequestId {
    RequestId(counter.0.fetch_add(1, Ordering::Relaxed))
}

#[provider]
fn user(id: Dep<RequestId>, config: Dep<Config>) -> User {
    User(format!("{}{}", config.prefix, id.0))
}

#[provider]
async fn session(user: Dep<User>) -> Session {
    Session(user.0.len())
}

#[provider]
async fn audit(session: Dep<Session>, counter: Dep<Counter>) -> Teardown<Audit> {
    let _ = counter.0.load(Ordering::Relaxed);
    Teardown::new(Audit(session.0), |audit, _outcome| async move {
        tokio::task::yield_now().await;
        black_box(audit.0);
    })
}

#[provider(scope = transient)]
fn nonce(id: Dep<RequestId>) -> Nonce {
    Nonce(id.0 ^ 0x5eed)
}

#[providers(config, counter, request_id, user, session, audit, nonce)]
struct GraphProviders;

/// Three values whose providers each wait 100 ms (an auth lookup, a cache
/// read, a pool acquire).
mod waiting {
    use std::time::Duration;

    use axum_providers::prelude::*;

    pub(crate) struct Auth;
    pub(crate) struct Cached;
    pub(crate) struct Pooled;

    const WAIT: Duration = Duration::from_millis(100);

    #[provider]
    async fn auth() -> Auth {
        tokio::time::sleep(WAIT).await;
        Auth
    }

    #[provider]
    async fn cached() -> Cached {
        tokio::time::sleep(WAIT).await;
        Cached
    }

    #[provider]
    async fn pooled() -> Pooled {
        tokio::time::sleep(WAIT).await;
        Pooled
    }

    #[providers(auth, cached, pooled)]
    pub(crate) struct WaitingProviders;

    async fn in_turn(_auth: Dep<Auth>, _cached: Dep<Cached>, _pooled: Dep<Pooled>) -> &'static str {
        "ok"
    }

    #[handler(WaitingProviders)]
    async fn together(_auth: Dep<Auth>, _cached: Dep<Cached>, _pooled: Dep<Pooled>) -> &'static str {
        "ok"
    }

    pub(crate) fn router(app: &App<WaitingProviders>) -> axum::Router {
        axum::Router::new()
            .route("/in-turn", axum::routing::get(in_turn))
            .route("/together", axum::routing::get(together))
            .with_providers(app)
    }
}

struct Value<const N: usize>;

macro_rules! torn_down {
    ($($name:ident: $n:literal),*) => {
        $(
            #[provider]
            fn $name() -> Teardown<Value<$n>> {
                Teardown::new(Value::<$n>, |value, _| async move { black_box(value); })
            }
        )*
        #[providers($($name),*)]
        struct TeardownProviders;
    };
}

torn_down!(v0: 0, v1: 1, v2: 2, v3: 3, v4: 4, v5: 5, v6: 6, v7: 7);

async fn set_up_eight(scope: &mut axum_providers::Scope<TeardownProviders>) {
    drop(scope.get::<Value<0>>().await);
    drop(scope.get::<Value<1>>().await);
    drop(scope.get::<Value<2>>().await);
    drop(scope.get::<Value<3>>().await);
    drop(scope.get::<Value<4>>().await);
    drop(scope.get::<Value<5>>().await);
    drop(scope.get::<Value<6>>().await);
    drop(scope.get::<Value<7>>().await);
}

fn benchmarks(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let app = runtime.block_on(App::<GraphProviders>::builder().build()).expect("app builds");
    let eight = runtime.block_on(App::<TeardownProviders>::builder().build()).expect("app builds");

    c.bench_function("app_value", |b| {
        b.to_async(&runtime).iter(|| async {
            let config = app.get::<Config>().await.expect("config");
            black_box(config.prefix.len())
        });
    });

    c.bench_function("request_graph_7", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut scope = app.scope();
            let audit = scope.get::<Audit>().await.expect("audit");
            let nonce = scope.get::<Nonce>().await.expect("nonce");
            black_box((audit.0, nonce.0));
            drop((audit, nonce));
            scope.close(Outcome::Success).await.expect("teardown");
        });
    });

    c.bench_function("teardown_8", |b| {
        b.to_async(&runtime).iter_custom(|iterations| {
            let eight = eight.clone();
            async move {
                let mut closing = Duration::ZERO;
                for _ in 0..iterations {
                    let mut scope = eight.scope();
                    set_up_eight(&mut scope).await;
                    let started = Instant::now();
                    scope.close(Outcome::Success).await.expect("teardown");
                    closing += started.elapsed();
                }
                closing
            }
        });
    });

    // The whole `/deps` request, in process (no network): the router of each
    // server, driven with `oneshot`.
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/providers_bench".to_owned());
    let providers_app = runtime
        .block_on(
            App::<axum_providers_bench::providers::BenchProviders>::builder()
                .override_value(axum_providers::sqlx::DatabaseSettings::new(&url).max_connections(10))
                .build(),
        )
        .expect("providers app builds (is PostgreSQL running?)");
    let providers_router = axum_providers_bench::providers::router(&providers_app);
    let handwritten_router = {
        let _guard = runtime.enter();
        // The same pool size as the providers app's (10, sqlx's default).
        let pool =
            sqlx::postgres::PgPoolOptions::new().max_connections(10).connect_lazy(&url).expect("lazy pool");
        axum_providers_bench::handwritten::router(axum_providers_bench::handwritten::AppState {
            config: axum_providers_bench::Config { prefix: "user-".into() },
            counter: axum_providers_bench::Counter::default(),
            pool,
        })
    };
    // What any `Router::layer` costs in axum, before the layer does anything:
    // the hand-written router under an identity layer (each route wrapped
    // once more, as the providers layer wraps them).
    let noop_layered_router =
        handwritten_router.clone().layer(tower::layer::layer_fn(|route: axum::routing::Route| route));
    for (name, path, router) in [
        ("plain_request/providers", "/plain", &providers_router),
        ("plain_request/handwritten", "/plain", &handwritten_router),
        ("plain_request/handwritten_noop_layer", "/plain", &noop_layered_router),
        ("deps_request/providers", "/deps", &providers_router),
        ("deps_request/handwritten", "/deps", &handwritten_router),
        ("deps_request/handwritten_noop_layer", "/deps", &noop_layered_router),
        ("deps_request/providers_handler", "/deps-handler", &providers_router),
        // With PostgreSQL: a pooled connection (`SELECT 1`), a transaction
        // (`INSERT .. RETURNING id`, commit) per request.
        ("sqlx_request/providers", "/sqlx", &providers_router),
        ("sqlx_request/handwritten", "/sqlx", &handwritten_router),
        ("tx_request/providers", "/tx", &providers_router),
        ("tx_request/handwritten", "/tx", &handwritten_router),
    ] {
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let request = axum::http::Request::get(path)
                    .header("x-request-id", "42")
                    .body(axum::body::Body::empty())
                    .expect("request");
                let response = tower::ServiceExt::oneshot(router.clone(), request).await.expect("infallible");
                black_box(response.status())
            });
        });
    }
    drop((providers_router, handwritten_router, noop_layered_router));

    // Three providers that each wait 100 ms: their sum one after the other,
    // the longest set up together.
    let waiting_app =
        runtime.block_on(App::<waiting::WaitingProviders>::builder().build()).expect("waiting app builds");
    let waiting_router = waiting::router(&waiting_app);
    let mut group = c.benchmark_group("three_100ms");
    group.sample_size(10);
    for (name, path) in [("in_turn", "/in-turn"), ("together", "/together")] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let request =
                    axum::http::Request::get(path).body(axum::body::Body::empty()).expect("request");
                let response =
                    tower::ServiceExt::oneshot(waiting_router.clone(), request).await.expect("infallible");
                black_box(response.status())
            });
        });
    }
    group.finish();
    drop(waiting_router);

    runtime.block_on(async {
        app.shutdown().await.expect("shutdown");
        eight.shutdown().await.expect("shutdown");
        providers_app.shutdown().await.expect("shutdown");
        waiting_app.shutdown().await.expect("shutdown");
    });
}

criterion_group!(resolve, benchmarks);
criterion_main!(resolve);
