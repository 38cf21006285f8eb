//! Provider bundles across crates: `bundle-lib` declares `#[bundle(..)]`s,
//! this crate's registries include them with `include(..)`; the bundles'
//! providers depend on a type the app provides, run, tear down, can be
//! overridden, and show in the graph.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum_providers::Graph;
use axum_providers::prelude::*;
use bundle_lib::audit::Audited;
use bundle_lib::{AuditTrail, Journal, Session, Settings, Storage, Store};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

#[provider(scope = app)]
fn settings() -> Settings {
    Settings { url: "mem://main".into(), journal: Journal::default() }
}

#[providers(settings, include(Storage))]
struct AppProviders;

/// A bundle included by another one, and by the app: listed once.
#[providers(settings, include(Audited), include(bundle_lib::Storage))]
struct AuditedProviders;

async fn build(settings: Settings) -> App<AppProviders> {
    App::<AppProviders>::builder().override_value(settings).build().await.expect("app builds")
}

fn journaled(url: &str) -> (Settings, Journal) {
    let journal = Journal::default();
    (Settings { url: url.into(), journal: journal.clone() }, journal)
}

#[handler(AppProviders)]
async fn whoami(session: Dep<Session>) -> String {
    format!("session on {}", session.url)
}

#[tokio::test]
async fn a_bundle_from_another_crate_serves_requests_with_the_apps_settings() {
    let (settings, journal) = journaled("mem://one");
    let app = build(settings).await;
    assert_eq!(journal.lines(), ["open mem://one"], "the bundle's app-scoped provider ran at build()");
    let router: Router = Router::new().route("/", get(whoami)).with_providers(&app);
    let response =
        router.oneshot(Request::get("/").body(Body::empty()).expect("request")).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], b"session on mem://one");
    app.shutdown().await.expect("clean shutdown");
    assert_eq!(
        journal.lines(),
        ["open mem://one", "session end: success", "close mem://one"],
        "the bundle's teardowns ran, request then app"
    );
}

#[tokio::test]
async fn a_nested_bundle_brings_the_bundle_it_includes() {
    let journal = Journal::default();
    let app = App::<AuditedProviders>::builder()
        .override_value(Settings { url: "mem://audit".into(), journal: journal.clone() })
        .build()
        .await
        .expect("app builds");
    let mut scope = app.scope();
    assert_eq!(scope.get::<AuditTrail>().await.expect("audit trail").0, "audited on mem://audit");
    scope.close(Outcome::Success).await.expect("scope closes");
    app.shutdown().await.expect("clean shutdown");
    assert_eq!(journal.lines(), ["open mem://audit", "session end: success", "close mem://audit"]);
    let names: Vec<_> = <AuditedProviders as axum_providers::registry::Registry>::PROVIDERS
        .iter()
        .map(|entry| (entry.name(), entry.bundle()))
        .collect();
    assert_eq!(
        names,
        [
            ("settings", None),
            ("audit_trail", Some("Audited")),
            ("store", Some("Storage")),
            ("session", Some("Storage")),
        ],
        "`Storage`, included twice, is listed once"
    );
}

#[tokio::test]
async fn a_bundles_provider_can_be_overridden_with_a_value() {
    let (settings, journal) = journaled("mem://real");
    let app = App::<AppProviders>::builder()
        .override_value(settings)
        .override_with(|| async { Store { url: "mem://fake".into() } })
        .build()
        .await
        .expect("app builds");
    let mut scope = app.scope();
    assert_eq!(
        scope.get::<Session>().await.expect("session").url,
        "mem://fake",
        "the session uses the override"
    );
    scope.close(Outcome::Success).await.expect("scope closes");
    app.shutdown().await.expect("clean shutdown");
    assert_eq!(journal.lines(), ["session end: success"], "the bundle's own store never opened");
}

/// Replaces the bundle's `session`.
#[provider]
fn fake_session(settings: Dep<Settings>) -> Session {
    Session { url: format!("fake {}", settings.url) }
}

#[tokio::test]
async fn a_bundles_provider_can_be_overridden_with_a_provider() {
    let (settings, journal) = journaled("mem://two");
    let app = App::<AppProviders>::builder()
        .override_value(settings)
        .override_provider::<fake_session::Provider>()
        .build()
        .await
        .expect("app builds");
    let mut scope = app.scope();
    assert_eq!(scope.get::<Session>().await.expect("session").url, "fake mem://two");
    scope.close(Outcome::Success).await.expect("scope closes");
    app.shutdown().await.expect("clean shutdown");
    assert_eq!(journal.lines(), ["open mem://two", "close mem://two"], "the bundle's session never ran");
}

#[test]
fn the_graph_draws_each_bundle_around_its_providers() {
    let graph = Graph::of::<AuditedProviders>();
    assert_eq!(
        graph.mermaid(),
        "graph TD\n    p0[\"settings: Settings (app)\"]\n    subgraph b0[\"bundle Audited\"]\n        p1[\"audit_trail: AuditTrail (request)\"]\n    end\n    subgraph b1[\"bundle Storage\"]\n        p2[\"store: Store (app)\"]\n        p3[\"session: Session (request)\"]\n    end\n    p1 --> p3\n    p2 --> p0\n    p3 --> p2\n    p3 --> p0\n"
    );
    assert_eq!(
        graph.dot(),
        "digraph providers {\n    rankdir=TB;\n    node [shape=box];\n    p0 [label=\"settings: Settings (app)\", style=bold];\n    subgraph cluster_0 {\n        label=\"bundle Audited\";\n        p1 [label=\"audit_trail: AuditTrail (request)\", style=solid];\n    }\n    subgraph cluster_1 {\n        label=\"bundle Storage\";\n        p2 [label=\"store: Store (app)\", style=bold];\n        p3 [label=\"session: Session (request)\", style=solid];\n    }\n    p1 -> p3;\n    p2 -> p0;\n    p3 -> p2;\n    p3 -> p0;\n}\n"
    );
}

/// A bundle declared in the crate that uses it.
mod local {
    use axum_providers::prelude::*;

    pub(crate) struct Greeting(pub(crate) String);

    #[provider]
    pub(crate) fn greeting(settings: Dep<bundle_lib::Settings>) -> Greeting {
        Greeting(format!("hello from {}", settings.url))
    }

    // Another crate's bundle, re-exported to be included by its path here.
    pub(crate) use bundle_lib::Storage;

    #[bundle(crate::local::greeting, include(crate::local::Storage))]
    pub(crate) struct Greetings;
}

#[providers(settings, include(local::Greetings))]
struct LocalProviders;

#[tokio::test]
async fn a_bundle_of_the_apps_own_crate_can_include_another_crates_bundle() {
    let app = App::<LocalProviders>::builder().build().await.expect("app builds");
    let mut scope = app.scope();
    assert_eq!(scope.get::<local::Greeting>().await.expect("greeting").0, "hello from mem://main");
    assert_eq!(scope.get::<Session>().await.expect("session").url, "mem://main");
    scope.close(Outcome::Success).await.expect("scope closes");
    app.shutdown().await.expect("clean shutdown");
}
