//! Compile-time benchmark, hand-written side: the app of
//! `compile-bench-providers` (30 values, 10 handlers) written the way an
//! experienced axum user would without `axum-providers`.
//!
//! - The 10 app values live in [`AppState`] (built by [`AppState::build`],
//!   torn down by [`AppState::shutdown`]); handlers and extractors read them
//!   through `FromRef`.
//! - The 20 request values are hand-written `FromRequestParts` impls that
//!   compute their dependencies and cache themselves in the request's
//!   extensions, so that each is built once per request.
//! - Request values with a teardown hold an `Arc` of a `Drop` guard.
//!
//! `bench/compile.sh` times both crates. The logic is trivial string
//! formatting, so that the difference in compile time measures the machinery.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::get;

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

/// The router's state: the 10 app values.
#[derive(Clone)]
pub struct AppState {
    /// The application's name.
    pub app_name: AppName,
    /// The greeting.
    pub greeting: Greeting,
    /// Request limits.
    pub limits: Limits,
    /// The deployment region.
    pub region: Region,
    /// Feature flags.
    pub feature_flags: FeatureFlags,
    /// The application's version.
    pub version: Version,
    /// The public endpoint.
    pub endpoint: Endpoint,
    /// The product catalog.
    pub catalog: Catalog,
    /// Hit counter.
    pub metrics: Metrics,
    /// Audit log.
    pub audit_log: AuditLog,
}

impl AppState {
    /// Sets up the 10 app values, dependencies first.
    pub async fn build() -> Self {
        let app_name = AppName("shop".to_owned());
        let greeting = Greeting(format!("Welcome to {}", app_name.0));
        let limits = Limits(10);
        let region = Region("eu-west".to_owned());
        let feature_flags = FeatureFlags(true);
        let version = Version("1.2.3".to_owned());
        let endpoint = Endpoint(format!("https://{}.example.com/v{}", region.0, version.0));
        let catalog = Catalog((0..limits.0).map(|i| format!("item-{i}")).collect());
        let metrics = Metrics::default();
        let audit_log = AuditLog::default();
        Self {
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
        }
    }

    /// Tears down the app values that need it, in reverse order of setup.
    pub async fn shutdown(self) {
        let lines = self.audit_log.0.lock().map(|lines| lines.len()).unwrap_or(0);
        eprintln!("{}: {lines} audit lines", self.app_name.0);
        eprintln!("hits: {}", self.metrics.0.load(Ordering::Relaxed));
    }
}

impl FromRef<AppState> for AppName {
    fn from_ref(state: &AppState) -> Self {
        state.app_name.clone()
    }
}

impl FromRef<AppState> for Greeting {
    fn from_ref(state: &AppState) -> Self {
        state.greeting.clone()
    }
}

impl FromRef<AppState> for Limits {
    fn from_ref(state: &AppState) -> Self {
        state.limits.clone()
    }
}

impl FromRef<AppState> for Region {
    fn from_ref(state: &AppState) -> Self {
        state.region.clone()
    }
}

impl FromRef<AppState> for FeatureFlags {
    fn from_ref(state: &AppState) -> Self {
        state.feature_flags.clone()
    }
}

impl FromRef<AppState> for Version {
    fn from_ref(state: &AppState) -> Self {
        state.version.clone()
    }
}

impl FromRef<AppState> for Endpoint {
    fn from_ref(state: &AppState) -> Self {
        state.endpoint.clone()
    }
}

impl FromRef<AppState> for Catalog {
    fn from_ref(state: &AppState) -> Self {
        state.catalog.clone()
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

impl FromRef<AppState> for AuditLog {
    fn from_ref(state: &AppState) -> Self {
        state.audit_log.clone()
    }
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

/// Counts a hit when dropped (the end of the request).
pub struct TraceGuard(Metrics);

impl Drop for TraceGuard {
    fn drop(&mut self) {
        (self.0).0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The trace id, from the request id and the version; counts a hit when the
/// request ends.
#[derive(Clone)]
pub struct Trace(pub String, pub Arc<TraceGuard>);

/// Counts a hit when dropped, if the request took over a second.
pub struct TimerGuard(Instant, Metrics);

impl Drop for TimerGuard {
    fn drop(&mut self) {
        (self.1).0.fetch_add(u64::from(self.0.elapsed().as_secs() > 1), Ordering::Relaxed);
    }
}

/// When the request started; counts a hit when the request ends.
#[derive(Clone)]
pub struct Timer(pub Arc<TimerGuard>);

/// Writes the entry to the audit log when dropped.
pub struct AuditGuard(String, AuditLog);

impl Drop for AuditGuard {
    fn drop(&mut self) {
        if let Ok(mut lines) = (self.1).0.lock() {
            lines.push(std::mem::take(&mut self.0));
        }
    }
}

/// An audit entry, written to the audit log when the request ends.
#[derive(Clone)]
pub struct AuditEntry(pub Arc<AuditGuard>);

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

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let value = Self(header(&parts.headers, "x-request-id").unwrap_or_else(|| "none".to_owned()));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let headers = parts.headers.clone();
        let value = Self(header(&headers, "user-agent").unwrap_or_else(|| "unknown".to_owned()));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let value = Self(header(&parts.headers, "accept-language").unwrap_or_else(|| "en".to_owned()));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Token {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let value = Self(header(&parts.headers, "authorization"));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    AppName: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let token = Token::from_request_parts(parts, state).await?;
        let name = AppName::from_ref(state);
        let value = Self(match &token.0 {
            Some(token) => format!("{}@{}", token, name.0),
            None => format!("guest@{}", name.0),
        });
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Session
where
    S: Send + Sync,
    AppName: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let id = RequestId::from_request_parts(parts, state).await?;
        let caller = Caller::from_request_parts(parts, state).await?;
        let value = Self(format!("{}/{}", caller.0, id.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Tenant
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Region: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let region = Region::from_ref(state);
        let caller = Caller::from_request_parts(parts, state).await?;
        let value = Self(format!("{}:{}", region.0, caller.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Permissions
where
    S: Send + Sync,
    AppName: FromRef<S>,
    FeatureFlags: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        let flags = FeatureFlags::from_ref(state);
        let mut permissions = vec![format!("read:{}", caller.0)];
        if flags.0 {
            permissions.push("beta".to_owned());
        }
        let value = Self(permissions);
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Quota
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Limits: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let limits = Limits::from_ref(state);
        let caller = Caller::from_request_parts(parts, state).await?;
        let value = Self(limits.0.saturating_sub(caller.0.len() % limits.0.max(1)));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Trace
where
    S: Send + Sync,
    Version: FromRef<S>,
    Metrics: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let id = RequestId::from_request_parts(parts, state).await?;
        let version = Version::from_ref(state);
        let metrics = Metrics::from_ref(state);
        let value = Self(format!("{}-{}", version.0, id.0), Arc::new(TraceGuard(metrics)));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Timer
where
    S: Send + Sync,
    Metrics: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let value = Self(Arc::new(TimerGuard(Instant::now(), Metrics::from_ref(state))));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for AuditEntry
where
    S: Send + Sync,
    AppName: FromRef<S>,
    AuditLog: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let log = AuditLog::from_ref(state);
        let caller = Caller::from_request_parts(parts, state).await?;
        let value = Self(Arc::new(AuditGuard(format!("seen {}", caller.0), log)));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Welcome
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Greeting: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let greeting = Greeting::from_ref(state);
        let caller = Caller::from_request_parts(parts, state).await?;
        let locale = Locale::from_request_parts(parts, state).await?;
        let value = Self(format!("{}, {} ({})", greeting.0, caller.0, locale.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for RouteInfo
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Region: FromRef<S>,
    Endpoint: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let endpoint = Endpoint::from_ref(state);
        let tenant = Tenant::from_request_parts(parts, state).await?;
        let value = Self(format!("{}/{}", endpoint.0, tenant.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for CartSize
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Limits: FromRef<S>,
    Catalog: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let catalog = Catalog::from_ref(state);
        let quota = Quota::from_request_parts(parts, state).await?;
        let value = Self(catalog.0.len().min(quota.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Banner
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Greeting: FromRef<S>,
    FeatureFlags: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let flags = FeatureFlags::from_ref(state);
        let welcome = Welcome::from_request_parts(parts, state).await?;
        let value = Self(if flags.0 { format!("[beta] {}", welcome.0) } else { welcome.0 });
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let agent = UserAgent::from_request_parts(parts, state).await?;
        let locale = Locale::from_request_parts(parts, state).await?;
        let value = Self(format!("{} in {}", agent.0, locale.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Breadcrumb
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Version: FromRef<S>,
    Metrics: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let session = Session::from_request_parts(parts, state).await?;
        let trace = Trace::from_request_parts(parts, state).await?;
        let value = Self(format!("{} > {}", session.0, trace.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Summary
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Region: FromRef<S>,
    Limits: FromRef<S>,
    Catalog: FromRef<S>,
    FeatureFlags: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let permissions = Permissions::from_request_parts(parts, state).await?;
        let cart = CartSize::from_request_parts(parts, state).await?;
        let tenant = Tenant::from_request_parts(parts, state).await?;
        let value = Self(format!("{} may {} with {} items", tenant.0, permissions.0.join(","), cart.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

impl<S> FromRequestParts<S> for Footer
where
    S: Send + Sync,
    AppName: FromRef<S>,
    Version: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.extensions.get::<Self>() {
            return Ok(value.clone());
        }
        let version = Version::from_ref(state);
        let name = AppName::from_ref(state);
        let id = RequestId::from_request_parts(parts, state).await?;
        let value = Self(format!("{} {} ({})", name.0, version.0, id.0));
        parts.extensions.insert(value.clone());
        Ok(value)
    }
}

// ---------------------------------------------------------------------------
// Handlers, router
// ---------------------------------------------------------------------------

async fn index(State(name): State<AppName>, welcome: Welcome, banner: Banner) -> String {
    format!("{}: {} / {}", name.0, welcome.0, banner.0)
}

async fn whoami(caller: Caller, session: Session, permissions: Permissions) -> String {
    format!("{} in {} may {}", caller.0, session.0, permissions.0.join(","))
}

async fn tenant_page(tenant: Tenant, route: RouteInfo) -> String {
    format!("{} at {}", tenant.0, route.0)
}

async fn cart(size: CartSize, quota: Quota, State(catalog): State<Catalog>) -> String {
    format!("{} of {} items (quota {})", size.0, catalog.0.len(), quota.0)
}

async fn client(info: ClientInfo, agent: UserAgent) -> String {
    format!("{} ({})", info.0, agent.0.len())
}

async fn trace_page(trace: Trace, breadcrumb: Breadcrumb, timer: Timer) -> String {
    format!("{}: {} after {:?}", trace.0, breadcrumb.0, timer.0.0.elapsed())
}

async fn summary_page(summary: Summary, footer: Footer, entry: AuditEntry) -> String {
    format!("{}\n{}\n{}", summary.0, entry.0.0, footer.0)
}

async fn version_page(
    State(version): State<Version>,
    State(endpoint): State<Endpoint>,
    State(flags): State<FeatureFlags>,
    id: RequestId,
) -> String {
    format!("{} at {} (beta: {}, request {})", version.0, endpoint.0, flags.0, id.0)
}

async fn locale_page(locale: Locale, State(greeting): State<Greeting>, welcome: Welcome) -> String {
    format!("{}: {} / {}", locale.0, greeting.0, welcome.0)
}

async fn status(
    State(metrics): State<Metrics>,
    State(limits): State<Limits>,
    token: Token,
    timer: Timer,
) -> String {
    format!(
        "hits {} limit {} authenticated {} after {:?}",
        metrics.0.load(Ordering::Relaxed),
        limits.0,
        token.0.is_some(),
        timer.0.0.elapsed()
    )
}

/// The router, with the 10 routes.
pub fn router(state: AppState) -> Router {
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
        .with_state(state)
}
