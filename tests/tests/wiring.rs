//! Providers wired into a real `Router`, driven with `oneshot`: caching per
//! request, transient instances, eager app setup in dependency order, teardown
//! in reverse order, errors and rejections as responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use axum_extra::TypedHeader;
use axum_extra::headers::Authorization;
use axum_extra::headers::authorization::Bearer;
use axum_providers::prelude::*;
use axum_providers::{BuildError, ProviderState, Providers};
use axum_providers_tests::Journal;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

#[provider(scope = app)]
fn events() -> Journal {
    Journal::default()
}

struct Config {
    pub greeting: String,
}

#[provider(scope = app)]
async fn config(events: Dep<Journal>) -> Teardown<Config> {
    events.record("setup config");
    let events = events.clone();
    Teardown::new(Config { greeting: "hello".into() }, move |_config, outcome| async move {
        events.record(format!("teardown config ({outcome})"));
    })
}

/// App-scoped, depends on `config`.
#[derive(Clone)]
struct Greeter(pub String);

#[provider(scope = app)]
async fn greeter(config: Dep<Config>, events: Dep<Journal>) -> Teardown<Greeter> {
    events.record("setup greeter");
    let events = events.clone();
    Teardown::new(Greeter(config.greeting.to_uppercase()), move |_, outcome| async move {
        events.record(format!("teardown greeter ({outcome})"));
    })
}

struct RequestId(pub usize);

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

#[provider]
async fn request_id(headers: HeaderMap, events: Dep<Journal>) -> Teardown<RequestId> {
    let id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| NEXT_ID.fetch_add(1, Ordering::Relaxed));
    events.record("setup request_id");
    let events = events.clone();
    Teardown::new(RequestId(id), move |_, outcome| async move {
        events.record(format!("teardown request_id ({outcome})"));
    })
}

#[derive(Debug)]
struct User {
    pub name: String,
    pub request: usize,
}

#[provider]
async fn user(id: Dep<RequestId>, greeter: Dep<Greeter>, events: Dep<Journal>) -> Teardown<User> {
    events.record("setup user");
    let events = events.clone();
    let user = User { name: format!("{} user{}", greeter.0, id.0), request: id.0 };
    Teardown::new(user, move |_, outcome| async move {
        events.record(format!("teardown user ({outcome})"));
    })
}

struct Audit(pub usize);

#[provider]
fn audit(id: Dep<RequestId>, events: Dep<Journal>) -> Audit {
    events.record("setup audit");
    Audit(id.0)
}

struct Nonce(pub usize);

#[provider(scope = transient)]
fn nonce(events: Dep<Journal>) -> Nonce {
    events.record("setup nonce");
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    Nonce(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A pair of transient consumers: each gets its own `Nonce`.
struct NoncePair(pub usize, pub usize);

#[provider(scope = transient)]
fn nonce_pair(a: Dep<Nonce>, events: Dep<Journal>) -> NoncePair {
    events.record("setup nonce_pair");
    NoncePair(a.0, usize::MAX)
}

struct Tx {
    pub statements: Vec<String>,
}

#[provider(exclusive)]
async fn tx(events: Dep<Journal>) -> Teardown<Tx> {
    events.record("setup tx");
    let events = events.clone();
    Teardown::new(Tx { statements: Vec::new() }, move |tx, outcome| async move {
        let verb = if outcome.is_success() { "commit" } else { "rollback" };
        events.record(format!("{verb} {:?} ({outcome})", tx.statements));
    })
}

/// A provider whose error is a response of its own.
#[derive(Debug)]
struct Teapot;

impl IntoResponse for Teapot {
    fn into_response(self) -> Response {
        (StatusCode::IM_A_TEAPOT, "short and stout").into_response()
    }
}

impl std::fmt::Display for Teapot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the teapot refused")
    }
}

struct Brew;

#[provider]
async fn brew(_user: Dep<User>) -> Result<Brew, Teapot> {
    Err(Teapot)
}

/// A provider whose error is not a response: the client gets a generic 500.
/// A plain `fn`: once its dependency is cached it is set up on the spot,
/// without a future, and must fail the same way.
struct Secret;

#[provider]
fn secret(_id: Dep<RequestId>) -> Result<Secret, std::io::Error> {
    Err(std::io::Error::other("password=hunter2 leaked in an error message"))
}

/// A provider that needs a bearer token: a missing header is the extractor's rejection.
#[derive(Debug)]
struct Token(pub String);

#[provider]
async fn token(TypedHeader(auth): TypedHeader<Authorization<Bearer>>) -> Token {
    Token(auth.token().to_owned())
}

#[providers(events, config, greeter, request_id, user, audit, nonce, nonce_pair, tx, brew, secret, token)]
struct AppProviders;

#[handler(AppProviders)]
async fn both(id: Dep<RequestId>, user: Dep<User>, audit: Dep<Audit>) -> String {
    assert_eq!(user.request, id.0);
    assert_eq!(audit.0, id.0);
    format!("{} {}", id.0, user.name)
}

#[handler(AppProviders)]
async fn nonces(a: Dep<Nonce>, b: Dep<Nonce>, pair: Dep<NoncePair>) -> String {
    format!("{} {} {}", a.0, b.0, pair.0)
}

#[handler(AppProviders)]
async fn write(mut tx: DepMut<Tx>, _user: Dep<User>) -> StatusCode {
    tx.statements.push("insert".into());
    StatusCode::CREATED
}

#[handler(AppProviders)]
async fn write_then_fail(mut tx: DepMut<Tx>) -> Result<StatusCode, (StatusCode, &'static str)> {
    tx.statements.push("insert".into());
    Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid note"))
}

// Without `#[handler]`, which rejects this at compile time: at run time the
// second `DepMut` is a clear error, never a deadlock.
async fn twice(_a: DepMut<Tx>, _b: DepMut<Tx>) -> StatusCode {
    StatusCode::OK
}

#[handler(AppProviders)]
async fn teapot(_brew: Dep<Brew>) -> StatusCode {
    StatusCode::OK
}

#[handler(AppProviders)]
async fn secret_handler(_id: Dep<RequestId>, _secret: Dep<Secret>) -> StatusCode {
    StatusCode::OK
}

#[handler(AppProviders)]
async fn whoami(token: Dep<Token>) -> String {
    token.0.clone()
}

fn routes() -> Router<axum_providers::Providers<AppProviders>> {
    Router::new()
        .route("/both", get(both))
        .route("/nonces", get(nonces))
        .route("/write", get(write))
        .route("/write-then-fail", get(write_then_fail))
        .route("/twice", get(twice))
        .route("/teapot", get(teapot))
        .route("/secret", get(secret_handler))
        .route("/whoami", get(whoami))
}

async fn build(events: &Journal) -> App<AppProviders> {
    App::<AppProviders>::builder().override_value(events.clone()).build().await.expect("app builds")
}

async fn call(router: &Router, uri: &str) -> (StatusCode, String) {
    call_with(router, Request::get(uri).body(Body::empty()).expect("request")).await
}

async fn call_with(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8(body.to_vec()).expect("utf-8 body"))
}

#[tokio::test]
async fn app_values_are_set_up_eagerly_in_dependency_order() {
    let events = Journal::default();
    let app = build(&events).await;
    assert_eq!(events.take(), ["setup config", "setup greeter"], "built at startup, dependencies first");
    app.shutdown().await.expect("clean shutdown");
    assert_eq!(
        events.take(),
        ["teardown greeter (shutdown)", "teardown config (shutdown)"],
        "torn down in reverse order of setup"
    );
}

#[tokio::test]
async fn a_request_scoped_value_is_set_up_once_per_request_and_shared() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);
    events.clear();

    let (status, body) = call(&router, "/both").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // request_id is needed by the handler, by `user` and by `audit`: set up once.
    assert_eq!(events.count("setup request_id"), 1);
    assert_eq!(events.count("setup user"), 1);
    assert_eq!(events.count("setup audit"), 1);
    assert!(body.ends_with("HELLO user".to_owned().as_str()) || body.contains("HELLO user"), "{body}");

    events.clear();
    let (status, _) = call(&router, "/both").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events.count("setup request_id"), 1, "a new request gets a new value");
    assert_eq!(events.count("setup config"), 0, "app values are not set up again");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn transient_values_are_new_for_each_consumer() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);
    events.clear();

    let (status, body) = call(&router, "/nonces").await;
    assert_eq!(status, StatusCode::OK);
    let numbers: Vec<usize> = body.split(' ').map(|n| n.parse().expect("number")).collect();
    assert_ne!(numbers[0], numbers[1], "two consumers, two instances");
    assert_eq!(events.count("setup nonce"), 3, "handler twice + nonce_pair once");
    assert_eq!(events.count("setup nonce_pair"), 1);
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn teardown_runs_after_the_handler_in_reverse_order_with_the_outcome() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);
    events.clear();

    let (status, _) = call(&router, "/write").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        events.take(),
        [
            "setup tx",
            "setup request_id",
            "setup user",
            "teardown user (success)",
            "teardown request_id (success)",
            "commit [\"insert\"] (success)",
        ]
    );

    let (status, body) = call(&router, "/write-then-fail").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, "invalid note");
    assert_eq!(events.take(), ["setup tx", "rollback [\"insert\"] (error response (422))"]);
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn asking_twice_for_an_exclusive_value_is_a_clear_error_not_a_deadlock() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(5), call(&router, "/twice"))
        .await
        .expect("no deadlock");
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "internal server error");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_provider_error_that_is_a_response_becomes_the_response() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);
    events.clear();

    let (status, body) = call(&router, "/teapot").await;
    assert_eq!(status, StatusCode::IM_A_TEAPOT);
    assert_eq!(body, "short and stout");
    // The values set up before the failure are torn down, with the failure as outcome.
    assert_eq!(
        events.take(),
        [
            "setup request_id",
            "setup user",
            "teardown user (setup failed)",
            "teardown request_id (setup failed)",
        ]
    );
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_provider_error_that_is_not_a_response_is_a_500_that_reveals_nothing() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);
    events.clear();
    let (status, body) = call(&router, "/secret").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "internal server error");
    assert!(!body.contains("hunter2"));
    assert_eq!(events.take(), ["setup request_id", "teardown request_id (setup failed)"]);
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_extractor_rejection_in_a_provider_becomes_the_response() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = routes().with_providers(&app);

    let (status, _) = call(&router, "/whoami").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing Authorization header");

    let request = Request::get("/whoami")
        .header("authorization", "Bearer abc123")
        .body(Body::empty())
        .expect("request");
    let (status, body) = call_with(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "abc123");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn works_with_nested_routers_and_route_layer() {
    let events = Journal::default();
    let app = build(&events).await;
    let api = Router::new().route("/both", get(both)).route_layer(middleware::from_fn(
        |request: Request<Body>, next: middleware::Next| async move {
            let mut response = next.run(request).await;
            response.headers_mut().insert("x-route-layer", "yes".parse().expect("header"));
            response
        },
    ));
    let router: Router = Router::new().nest("/api", api).route("/nonces", get(nonces)).with_providers(&app);

    let response = router
        .clone()
        .oneshot(Request::get("/api/both").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-route-layer"], "yes");
    let (status, _) = call(&router, "/nonces").await;
    assert_eq!(status, StatusCode::OK);
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

/// A state of the user's own, with the app container's `Providers` inside.
#[derive(Clone)]
struct AppState {
    providers: Providers<AppProviders>,
    motto: &'static str,
}

impl ProviderState for AppState {
    type Registry = AppProviders;

    fn providers(&self) -> &Providers<AppProviders> {
        &self.providers
    }
}

async fn with_motto(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::State(app): axum::extract::State<App<AppProviders>>,
    user: Dep<User>,
) -> String {
    let greeter = app.get::<Greeter>().await.map(|greeter| greeter.0.clone()).unwrap_or_default();
    format!("{}: {} ({greeter})", user.name, state.motto)
}

impl axum::extract::FromRef<AppState> for App<AppProviders> {
    fn from_ref(state: &AppState) -> Self {
        state.providers.app().clone()
    }
}

#[tokio::test]
async fn works_with_a_state_of_the_users_own() {
    let events = Journal::default();
    let app = build(&events).await;
    let router: Router = Router::new()
        .route("/motto", get(with_motto))
        .with_providers_in_state(&app, |providers| AppState { providers, motto: "be kind" });
    let request = Request::get("/motto").header("x-request-id", "7").body(Body::empty()).expect("request");
    let (status, body) = call_with(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "HELLO user7: be kind (HELLO)");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

/// A replacement for `greeter`, not listed in the registry: another
/// provider of the same type, with dependencies and a teardown of its own.
#[provider(scope = app)]
async fn loud_greeter(config: Dep<Config>, events: Dep<Journal>) -> Teardown<Greeter> {
    events.record("setup loud_greeter");
    let events = events.clone();
    Teardown::new(Greeter(format!("{}!!!", config.greeting)), move |_, outcome| async move {
        events.record(format!("teardown loud_greeter ({outcome})"));
    })
}

/// A replacement for the request-scoped `request_id`, taking an extractor.
#[provider]
async fn fixed_request_id(headers: HeaderMap, events: Dep<Journal>) -> Teardown<RequestId> {
    events.record("setup fixed_request_id");
    let id = if headers.contains_key("x-request-id") { 42 } else { 0 };
    let events = events.clone();
    Teardown::new(RequestId(id), move |_, outcome| async move {
        events.record(format!("teardown fixed_request_id ({outcome})"));
    })
}

#[tokio::test]
async fn an_override_can_be_a_provider_with_dependencies_and_a_teardown() {
    let events = Journal::default();
    let app = App::<AppProviders>::builder()
        .override_value(events.clone())
        .override_provider::<loud_greeter::Provider>()
        .override_provider::<fixed_request_id::Provider>()
        .build()
        .await
        .expect("app builds");
    let router: Router = routes().with_providers(&app);
    let request = Request::get("/both").header("x-request-id", "3").body(Body::empty()).expect("request");
    let (status, body) = call_with(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "42 hello!!! user42", "dependents receive the override providers' values");
    assert_eq!(events.count("setup greeter"), 0, "the replaced provider does not run");
    assert_eq!(events.count("setup request_id"), 0, "the replaced provider does not run");
    assert_eq!(events.count("setup fixed_request_id"), 1);
    assert_eq!(events.count("teardown fixed_request_id (success)"), 1, "{:?}", events.events());
    drop(router);
    app.shutdown().await.expect("clean shutdown");
    assert_eq!(events.count("setup loud_greeter"), 1);
    assert_eq!(events.count("teardown loud_greeter (shutdown)"), 1, "{:?}", events.events());
}

#[tokio::test]
async fn overrides_replace_a_provider_for_one_app_and_dependents_see_them() {
    let events = Journal::default();
    let app = App::<AppProviders>::builder()
        .override_value(events.clone())
        .override_value(Greeter("HOWDY".into()))
        .build()
        .await
        .expect("app builds");
    let plain = build(&Journal::default()).await;
    let overridden: Router = routes().with_providers(&app);
    let untouched: Router = routes().with_providers(&plain);

    let request = || Request::get("/both").header("x-request-id", "3").body(Body::empty()).expect("request");
    let (_, body) = call_with(&overridden, request()).await;
    assert_eq!(body, "3 HOWDY user3", "the dependent `user` sees the override");
    let (_, body) = call_with(&untouched, request()).await;
    assert_eq!(body, "3 HELLO user3", "another app is not affected");
    assert_eq!(events.count("setup greeter"), 0, "the overridden provider did not run");
    drop((overridden, untouched));
    app.shutdown().await.expect("clean shutdown");
    plain.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_request_scoped_provider_can_be_overridden_with_a_function() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = App::<AppProviders>::builder()
        .override_with(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move { RequestId(1000 + n) }
        })
        .build()
        .await
        .expect("app builds");
    let router: Router = routes().with_providers(&app);
    let (_, first) = call(&router, "/both").await;
    let (_, second) = call(&router, "/both").await;
    assert_eq!(first, "1000 HELLO user1000");
    assert_eq!(second, "1001 HELLO user1001");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "once per request");
    drop(router);
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_scope_opened_by_hand_resolves_and_tears_down() {
    let events = Journal::default();
    let app = build(&events).await;
    events.clear();

    let mut scope = app.scope();
    {
        let mut tx = scope.get_mut::<Tx>().await.expect("tx");
        tx.statements.push("update".into());
        let pair = scope.get::<NoncePair>().await.expect("transient values resolve by hand");
        assert_eq!(pair.1, usize::MAX);
        let greeter = scope.get::<Greeter>().await.expect("app values resolve by hand");
        assert_eq!(greeter.0, "HELLO");
    }
    let error = scope.get::<User>().await.expect_err("`request_id` reads the request headers");
    assert_eq!(error.provider(), "request_id");
    assert!(
        error.to_string().contains("needs the HTTP request (extractor `http::header::map::HeaderMap`)"),
        "{error}"
    );
    scope.close(Outcome::Success).await.expect("teardown");
    assert_eq!(
        events.take(),
        ["setup tx", "setup nonce", "setup nonce_pair", "commit [\"update\"] (success)"],
        "a wiring error (no request in a hand-opened scope) is not a setup failure"
    );
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_scope_opened_by_hand_commits_when_it_closes_as_a_success() {
    let events = Journal::default();
    let app = build(&events).await;
    events.clear();
    let mut scope = app.scope();
    scope.get_mut::<Tx>().await.expect("tx").statements.push("insert".into());
    scope.close(Outcome::Success).await.expect("teardown");
    assert_eq!(events.take(), ["setup tx", "commit [\"insert\"] (success)"]);
    app.shutdown().await.expect("clean shutdown");
}

/// A failing app-scoped provider stops the build, naming itself; what was set
/// up before it is torn down.
mod failing_startup {
    use super::*;

    struct Database;

    #[provider(scope = app)]
    async fn database(_config: Dep<Config>) -> Result<Database, std::io::Error> {
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"))
    }

    #[providers(events, config, database)]
    struct BrokenProviders;

    #[tokio::test]
    async fn a_failing_app_provider_stops_the_build_and_names_itself() {
        let events = Journal::default();
        let result: Result<App<BrokenProviders>, BuildError> =
            App::<BrokenProviders>::builder().override_value(events.clone()).build().await;
        let error = result.expect_err("startup fails");
        assert_eq!(error.provider(), "database");
        assert!(error.to_string().contains("provider `database` failed: connection refused"), "{error}");
        assert_eq!(events.take(), ["setup config", "teardown config (setup failed)"]);
    }

    /// What `main` or a test does with it: `?` into a boxed error, and the
    /// cause found by walking `source()`.
    async fn start(
        events: Journal,
    ) -> Result<App<BrokenProviders>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(App::<BrokenProviders>::builder().override_value(events).build().await?)
    }

    #[tokio::test]
    async fn the_build_error_is_send_and_sync_and_keeps_the_providers_error_as_its_cause() {
        let error = start(Journal::default()).await.expect_err("startup fails");
        let mut causes = Vec::new();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*error);
        while let Some(current) = cause {
            causes.push(current);
            cause = current.source();
        }
        let io = causes.iter().find_map(|cause| cause.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::ConnectionRefused), "{causes:?}");
    }
}

/// Teardowns that panic: each is reported as a failed teardown, naming its
/// provider, and the others still run.
mod panicking_teardowns {
    use super::*;

    struct Calm;
    struct Hasty;
    struct Late;

    #[provider]
    fn calm(events: Dep<Journal>) -> Teardown<Calm> {
        let events = events.clone();
        Teardown::new(
            Calm,
            move |_, outcome| async move { events.record(format!("teardown calm ({outcome})")) },
        )
    }

    /// Panics in the closure, before it returns its future.
    #[provider]
    fn hasty(_calm: Dep<Calm>) -> Teardown<Hasty> {
        #[expect(unreachable_code, reason = "the closure panics before it returns its future")]
        Teardown::new(Hasty, |_, _| {
            panic!("hasty panics in its closure");
            std::future::ready(())
        })
    }

    /// Panics inside its future, after an await.
    #[provider]
    fn late(_hasty: Dep<Hasty>) -> Teardown<Late> {
        Teardown::new(Late, |_, _| async move {
            tokio::task::yield_now().await;
            if true {
                panic!("late panics in its future");
            }
        })
    }

    #[providers(events, calm, hasty, late)]
    struct PanickyProviders;

    #[tokio::test]
    async fn each_is_a_failed_teardown_and_the_others_still_run() {
        let events = Journal::default();
        let app =
            App::<PanickyProviders>::builder().override_value(events.clone()).build().await.expect("app");
        let mut scope = app.scope();
        drop(scope.get::<Late>().await.expect("late"));
        let errors = scope.close(Outcome::Success).await.expect_err("two teardowns panicked");
        let failed: Vec<_> = errors.errors().iter().map(ToString::to_string).collect();
        assert_eq!(
            failed,
            [
                "teardown of `late` failed: the teardown panicked",
                "teardown of `hasty` failed: the teardown panicked",
            ]
        );
        // After a failed teardown the scope's close is no longer a success:
        // the teardowns after it see `Failed`.
        assert_eq!(events.take(), ["teardown calm (failed)"]);
        app.shutdown().await.expect("clean shutdown");
    }

    #[tokio::test]
    async fn a_job_that_failed_closes_its_scope_as_failed() {
        let events = Journal::default();
        let app =
            App::<PanickyProviders>::builder().override_value(events.clone()).build().await.expect("app");
        let mut scope = app.scope();
        drop(scope.get::<Calm>().await.expect("calm"));
        scope.close(Outcome::Failed).await.expect("calm's teardown succeeds");
        assert_eq!(events.take(), ["teardown calm (failed)"]);
        app.shutdown().await.expect("clean shutdown");
    }
}

/// A plain `fn` provider with a transient dependency and a dependency that
/// needs its future: the transient value is made once for it, not once for
/// an attempt without a future and again for the awaited setup.
mod transient_behind_an_async_dependency {
    use super::*;

    struct Ticket;
    struct Slow;
    struct Desk;

    #[provider(scope = transient)]
    fn ticket(events: Dep<Journal>) -> Ticket {
        events.record("setup ticket");
        Ticket
    }

    #[provider]
    async fn slow() -> Slow {
        tokio::task::yield_now().await;
        Slow
    }

    #[provider(scope = transient)]
    fn desk(_ticket: Dep<Ticket>, _slow: Dep<Slow>, events: Dep<Journal>) -> Desk {
        events.record("setup desk");
        Desk
    }

    #[providers(events, ticket, slow, desk)]
    struct DeskProviders;

    #[tokio::test]
    async fn the_transient_value_is_made_once() {
        let events = Journal::default();
        let app = App::<DeskProviders>::builder().override_value(events.clone()).build().await.expect("app");
        let mut scope = app.scope();
        drop(scope.get::<Desk>().await.expect("desk"));
        scope.close(Outcome::Success).await.expect("teardown");
        assert_eq!(events.take(), ["setup ticket", "setup desk"]);
        app.shutdown().await.expect("clean shutdown");
    }
}
