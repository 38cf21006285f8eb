//! A ready-made readiness route: the health checks of the app-scoped values.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_providers_core::{App, CheckStatus, Registry};

/// Runs every health check of the app (`#[provider(scope = app, health = ..)]`,
/// and the built-in ones of the database and Redis pools), each within 2 s,
/// and answers `200` when all pass, `503` otherwise, with a JSON body:
///
/// ```json
/// {"status":"ready","checks":{"pool":{"status":"ok","elapsed_ms":1}}}
/// ```
///
/// A failing check shows `"status":"failing"` (or `"timed out"`); its error
/// is logged, not sent. Route it as
/// `.route("/ready", get(readiness::<AppProviders>))`.
pub async fn readiness<R: Registry>(State(app): State<App<R>>) -> Response {
    let report = app.health(Duration::from_secs(2)).await;
    let mut checks = String::new();
    for (i, check) in report.checks.iter().enumerate() {
        let status = match check.status {
            CheckStatus::Ok => "ok",
            CheckStatus::TimedOut => "timed out",
            _ => "failing",
        };
        if i > 0 {
            checks.push(',');
        }
        checks.push_str(&format!(
            "\"{}\":{{\"status\":\"{status}\",\"elapsed_ms\":{}}}",
            check.provider,
            check.elapsed.as_millis()
        ));
    }
    let ready = report.is_ready();
    let body =
        format!("{{\"status\":\"{}\",\"checks\":{{{checks}}}}}", if ready { "ready" } else { "unavailable" });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
