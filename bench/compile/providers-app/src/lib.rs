//! Compile-time benchmark, providers side: an app of 30 values (10 app-scoped,
//! 20 request-scoped) and 10 handlers written with `axum-providers`.
//!
//! `compile-bench-handwritten` is the same app written by hand with axum's
//! `State`, `FromRef` and `FromRequestParts`; `bench/compile.sh` times both.
//! The logic is trivial string formatting, so that the difference in compile
//! time measures the machinery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use axum_providers::prelude::*;

// ---------------------------------------------------------------------------
// App-scoped values
// ---------------------------------------------------------------------------

/// The application's name.
#[derive(Clone)]
pub struct AppName(pub String);

/// The greeting, built from the application's name.
#[derive(Clone)]
pub struct Greeting(pub String);

/// Request limits.
#[derive(Clone)]
pub struct Limits(pub usize);

/// The deployment region.
#[derive(Clone)]
pub struct Region(pub String);

/// Feature flags: whether beta features are on.
#[derive(Clone)]
pub struct FeatureFlags(pub bool);

/// The application's version.
#[derive(Clone)]
pub struct Version(pub String);

/// The public endpoint, built from the region and the version.
#[derive(Clone)]
pub struct Endpoint(pub String);

/// The product catalog, sized by the limits.
#[derive(Clone)]
pub struct Catalog(pub Vec<String>);

/// Hit counter; reported at shutdown.
#[derive(Clone, Default)]
pub struct Metrics(pub Arc<AtomicU64>);

/// Audit log lines; reported at shutdown.
#[derive(Clone, Default)]
pub struct AuditLog(pub Arc<Mutex<Vec<String>>>);

#[provider(scope = app)]
fn app_name() -> AppName {
    AppName("shop".to_owned())
}

#[provider(scope = app)]
fn greeting(name: Dep<AppName>) -> Greeting {
    Greeting(format!("Welcome to {}", name.0))
}

#[provider(scope = app)]
fn limits() -> Limits {
    Limits(10)
}

#[provider(scope = app)]
fn region() -> Region {
    Region("eu-west".to_owned())
}

#[provider(scope = app)]
fn feature_flags() -> FeatureFlags {
    FeatureFlags(true)
}

#[provider(scope = app)]
fn version() -> Version {
    Version("1.2.3".to_owned())
}

#[provider(scope = app)]
fn endpoint(region: Dep<Region>, version: Dep<Version>) -> Endpoint {
    Endpoint(format!("https://{}.example.com/v{}", region.0, version.0))
}

#[provider(scope = app)]
fn catalog(limits: Dep<Limits>) -> Catalog {
    Catalog((0..limits.0).map(|i| format!("item-{i}")).collect())
}

#[provider(scope = app)]
fn metrics() -> Teardown<Metrics> {
    Teardown::new(Metrics::default(), |metrics, _outcome| async move {
        eprintln!("hits: {}", metrics.0.load(Ordering::Relaxed));
    })
}

#[provider(scope = app)]
fn audit_log(name: Dep<AppName>) -> Teardown<AuditLog> {
    let name = name.0.clone();
    Teardown::new(AuditLog::default(), move |log, _outcome| async move {
        let lines = log.0.lock().map(|lines| lines.len()).unwrap_or(0);
        eprintln!("{name}: {lines} audit lines");
    })
}

// ---------------------------------------------------------------------------
// Request-scoped values
// ---------------------------------------------------------------------------

/// The request id, from `x-request-id`.
#[derive(Clone)]
pub struct RequestId(pub String);

/// The user agent, from `user-agent`.
#[derive(Clone)]
pub struct UserAgent(pub String);

/// The locale, from `accept-language`.
#[derive(Clone)]
pub struct Locale(pub String);

/// The bearer token, from `authorization`.
#[derive(Clone)]
pub struct Token(pub Option<String>);

/// Who is calling, from the token and the application's name.
#[derive(Clone)]
pub struct Caller(pub String);

/// The session, from the request id and the caller.
#[derive(Clone)]
pub struct Session(pub String);

/// The tenant, from the region and the caller.
#[derive(Clone)]
pub struct Tenant(pub String);

/// The caller's permissions, from the caller and the feature flags.
#[derive(Clone)]
pub struct Permissions(pub Vec<String>);

/// The caller's remaining quota, from the limits and the caller.
#[derive(Clone)]
pub struct Quota(pub usize);

/// The trace id, from the request id and the version; counts a hit when the
/// request ends.
#[derive(Clone)]
pub struct Trace(pub String);

/// When the request started; counts a hit when the request ends.
#[derive(Clone)]
pub struct Timer(pub Instant);

/// An audit entry, written to the audit log when the request ends.
#[derive(Clone)]
pub struct AuditEntry(pub String);

/// The welcome line, from the greeting, the caller and the locale.
#[derive(Clone)]
pub struct Welcome(pub String);

/// The route information, from the endpoint and the tenant.
#[derive(Clone)]
pub struct RouteInfo(pub String);

/// The cart size, from the catalog and the quota.
#[derive(Clone)]
pub struct CartSize(pub usize);

/// The banner, from the feature flags and the welcome line.
#[derive(Clone)]
pub struct Banner(pub String);

/// The client description, from the user agent and the locale.
#[derive(Clone)]
pub struct ClientInfo(pub String);

/// The breadcrumb, from the session and the trace.
#[derive(Clone)]
pub struct Breadcrumb(pub String);

/// The summary, from the permissions, the cart size and the tenant.
#[derive(Clone)]
pub struct Summary(pub String);

/// The footer, from the version, the application's name and the request id.
#[derive(Clone)]
pub struct Footer(pub String);

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}

#[provider]
fn request_id(headers: &HeaderMap) -> RequestId {
    RequestId(header(headers, "x-request-id").unwrap_or_else(|| "none".to_owned()))
}

#[provider]
fn user_agent(headers: HeaderMap) -> UserAgent {
    UserAgent(header(&headers, "user-agent").unwrap_or_else(|| "unknown".to_owned()))
}

#[provider]
fn locale(headers: &HeaderMap) -> Locale {
    Locale(header(headers, "accept-language").unwrap_or_else(|| "en".to_owned()))
}

#[provider]
fn token(headers: &HeaderMap) -> Token {
    Token(header(headers, "authorization"))
}

#[provider]
fn caller(token: Dep<Token>, name: Dep<AppName>) -> Caller {
    Caller(match &token.0 {
        Some(token) => format!("{}@{}", token, name.0),
        None => format!("guest@{}", name.0),
    })
}

#[provider]
async fn session(id: Dep<RequestId>, caller: Dep<Caller>) -> Session {
    Session(format!("{}/{}", caller.0, id.0))
}

#[provider]
fn tenant(region: Dep<Region>, caller: Dep<Caller>) -> Tenant {
    Tenant(format!("{}:{}", region.0, caller.0))
}

#[provider]
async fn permissions(caller: Dep<Caller>, flags: Dep<FeatureFlags>) -> Permissions {
    let mut permissions = vec![format!("read:{}", caller.0)];
    if flags.0 {
        permissions.push("beta".to_owned());
    }
    Permissions(permissions)
}

#[provider]
fn quota(limits: Dep<Limits>, caller: Dep<Caller>) -> Quota {
    Quota(limits.0.saturating_sub(caller.0.len() % limits.0.max(1)))
}

#[provider]
fn trace(id: Dep<RequestId>, version: Dep<Version>, metrics: Dep<Metrics>) -> Teardown<Trace> {
    let metrics = (*metrics).clone();
    Teardown::new(Trace(format!("{}-{}", version.0, id.0)), move |_trace, _outcome| async move {
        metrics.0.fetch_add(1, Ordering::Relaxed);
    })
}

#[provider]
fn timer(metrics: Dep<Metrics>) -> Teardown<Timer> {
    let metrics = (*metrics).clone();
    Teardown::new(Timer(Instant::now()), move |timer, _outcome| async move {
        metrics.0.fetch_add(u64::from(timer.0.elapsed().as_secs() > 1), Ordering::Relaxed);
    })
}

#[provider]
fn audit_entry(log: Dep<AuditLog>, caller: Dep<Caller>) -> Teardown<AuditEntry> {
    let log = (*log).clone();
    Teardown::new(AuditEntry(format!("seen {}", caller.0)), move |entry, _outcome| async move {
        if let Ok(mut lines) = log.0.lock() {
            lines.push(entry.0);
        }
    })
}

#[provider]
fn welcome(greeting: Dep<Greeting>, caller: Dep<Caller>, locale: Dep<Locale>) -> Welcome {
    Welcome(format!("{}, {} ({})", greeting.0, caller.0, locale.0))
}

#[provider]
async fn route_info(endpoint: Dep<Endpoint>, tenant: Dep<Tenant>) -> RouteInfo {
    RouteInfo(format!("{}/{}", endpoint.0, tenant.0))
}

#[provider]
fn cart_size(catalog: Dep<Catalog>, quota: Dep<Quota>) -> CartSize {
    CartSize(catalog.0.len().min(quota.0))
}

#[provider]
fn banner(flags: Dep<FeatureFlags>, welcome: Dep<Welcome>) -> Banner {
    Banner(if flags.0 { format!("[beta] {}", welcome.0) } else { welcome.0.clone() })
}

#[provider]
fn client_info(agent: Dep<UserAgent>, locale: Dep<Locale>) -> ClientInfo {
    ClientInfo(format!("{} in {}", agent.0, locale.0))
}

#[provider]
fn breadcrumb(session: Dep<Session>, trace: Dep<Trace>) -> Breadcrumb {
    Breadcrumb(format!("{} > {}", session.0, trace.0))
}

#[provider]
async fn summary(permissions: Dep<Permissions>, cart: Dep<CartSize>, tenant: Dep<Tenant>) -> Summary {
    Summary(format!("{} may {} with {} items", tenant.0, permissions.0.join(","), cart.0))
}

#[provider]
fn footer(version: Dep<Version>, name: Dep<AppName>, id: Dep<RequestId>) -> Footer {
    Footer(format!("{} {} ({})", name.0, version.0, id.0))
}

// ---------------------------------------------------------------------------
// Registry, handlers, router
// ---------------------------------------------------------------------------

/// Every provider of the app.
#[providers(
    app_name,
    greeting,
    limits,
    region,
    feature_flags,
    version,
    endpoint,
    catalog,
    metrics,
    audit_log,
    request_id,
    user_agent,
    locale,
    token,
    caller,
    session,
    tenant,
    permissions,
    quota,
    trace,
    timer,
    audit_entry,
    welcome,
    route_info,
    cart_size,
    banner,
    client_info,
    breadcrumb,
    summary,
    footer
)]
pub struct Registry;

#[handler(Registry)]
async fn index(name: Dep<AppName>, welcome: Dep<Welcome>, banner: Dep<Banner>) -> String {
    format!("{}: {} / {}", name.0, welcome.0, banner.0)
}

#[handler(Registry)]
async fn whoami(caller: Dep<Caller>, session: Dep<Session>, permissions: Dep<Permissions>) -> String {
    format!("{} in {} may {}", caller.0, session.0, permissions.0.join(","))
}

#[handler(Registry)]
async fn tenant_page(tenant: Dep<Tenant>, route: Dep<RouteInfo>) -> String {
    format!("{} at {}", tenant.0, route.0)
}

#[handler(Registry)]
async fn cart(size: Dep<CartSize>, quota: Dep<Quota>, catalog: Dep<Catalog>) -> String {
    format!("{} of {} items (quota {})", size.0, catalog.0.len(), quota.0)
}

#[handler(Registry)]
async fn client(info: Dep<ClientInfo>, agent: Dep<UserAgent>) -> String {
    format!("{} ({})", info.0, agent.0.len())
}

#[handler(Registry)]
async fn trace_page(trace: Dep<Trace>, breadcrumb: Dep<Breadcrumb>, timer: Dep<Timer>) -> String {
    format!("{}: {} after {:?}", trace.0, breadcrumb.0, timer.0.elapsed())
}

#[handler(Registry)]
async fn summary_page(summary: Dep<Summary>, footer: Dep<Footer>, entry: Dep<AuditEntry>) -> String {
    format!("{}\n{}\n{}", summary.0, entry.0, footer.0)
}

#[handler(Registry)]
async fn version_page(
    version: Dep<Version>,
    endpoint: Dep<Endpoint>,
    flags: Dep<FeatureFlags>,
    id: Dep<RequestId>,
) -> String {
    format!("{} at {} (beta: {}, request {})", version.0, endpoint.0, flags.0, id.0)
}

#[handler(Registry)]
async fn locale_page(locale: Dep<Locale>, greeting: Dep<Greeting>, welcome: Dep<Welcome>) -> String {
    format!("{}: {} / {}", locale.0, greeting.0, welcome.0)
}

#[handler(Registry)]
async fn status(metrics: Dep<Metrics>, limits: Dep<Limits>, token: Dep<Token>, timer: Dep<Timer>) -> String {
    format!(
        "hits {} limit {} authenticated {} after {:?}",
        metrics.0.load(Ordering::Relaxed),
        limits.0,
        token.0.is_some(),
        timer.0.elapsed()
    )
}

/// Builds the app container: sets up the 10 app-scoped values.
///
/// # Errors
///
/// When an app-scoped provider fails (none of these does).
pub async fn build() -> Result<App<Registry>, axum_providers::BuildError> {
    App::<Registry>::builder().build().await
}

/// The router, with the 10 routes.
pub fn router(app: &App<Registry>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/whoami", get(whoami))
        .route("/tenant", get(tenant_page))
        .route("/cart", get(cart))
        .route("/client", get(client))
        .route("/trace", get(trace_page))
        .route("/summary", get(summary_page))
        .route("/version", get(version_page))
        .route("/locale", get(locale_page))
        .route("/status", get(status))
        .with_providers(app)
}
