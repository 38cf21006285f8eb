//! Health checks of app-scoped values, for a readiness route.

use std::time::{Duration, Instant};

use crate::provider::Registry;
use crate::scope::ScopeKind;
use crate::teardown::Stored;

impl<R: Registry> crate::App<R> {
    /// Runs the health checks of the app-scoped values that have one
    /// (`#[provider(scope = app, health = ..)]`), concurrently, each bounded by
    /// `timeout`.
    pub async fn health(&self, timeout: Duration) -> crate::HealthReport {
        run::<R>(self.inner(), timeout).await
    }
}

/// How one app-scoped value answered its health check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckStatus {
    /// It answered in time.
    Ok,
    /// It answered with an error (the message is for logs and operators).
    Failing(String),
    /// It did not answer within the timeout.
    TimedOut,
}

/// One provider's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The provider whose value was checked.
    pub provider: &'static str,
    /// How it answered.
    pub status: CheckStatus,
    /// How long it took.
    pub elapsed: Duration,
}

/// Every health check of an app, run concurrently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// The checks, in the order of the registry.
    pub checks: Vec<Check>,
    /// The app is shutting down: not ready, whatever the checks say.
    pub shutting_down: bool,
}

impl HealthReport {
    /// `true` when every check passed and the app is not shutting down.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        !self.shutting_down && self.checks.iter().all(|check| check.status == CheckStatus::Ok)
    }
}

/// Runs the health checks of the app-scoped providers of `R` that have one.
async fn run<R: Registry>(app: &crate::app::AppInner<R>, timeout: Duration) -> HealthReport {
    let checks = R::PROVIDERS.iter().enumerate().filter_map(|(index, entry)| {
        let check = entry.health()?;
        if entry.scope() != ScopeKind::App {
            return None;
        }
        let stored = app.value(index)?;
        Some(async move {
            let started = Instant::now();
            let status = match tokio::time::timeout(timeout, check(&stored)).await {
                Ok(Ok(())) => CheckStatus::Ok,
                Ok(Err(error)) => {
                    tracing::warn!(provider = entry.name(), %error, "health check failed");
                    CheckStatus::Failing(error.to_string())
                }
                Err(_) => {
                    tracing::warn!(provider = entry.name(), ?timeout, "health check timed out");
                    CheckStatus::TimedOut
                }
            };
            Check { provider: entry.name(), status, elapsed: started.elapsed() }
        })
    });
    let checks = futures_util::future::join_all(checks).await;
    HealthReport { checks, shutting_down: app.is_shutting_down() }
}

/// The value an app-scoped health check receives.
#[doc(hidden)]
#[must_use]
pub fn app_value<T: Send + Sync + 'static>(stored: &Stored) -> Option<crate::Dep<T>> {
    let cell = std::sync::Arc::clone(stored).downcast::<crate::held::SharedCell<T>>().ok()?;
    Some(crate::Dep::from_cell(cell))
}
