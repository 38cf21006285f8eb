//! Bundles from another crate, nested and included twice, next to the app's
//! own providers and a bundle of the app's crate; under strict lints.

#![deny(warnings, clippy::pedantic, missing_docs, unreachable_pub)]

use axum_providers::prelude::*;
use bundle_lib::{AuditTrail, Journal, Settings};

#[provider(scope = app)]
fn settings() -> Settings {
    Settings { url: "mem://ui".into(), journal: Journal::default() }
}

mod local {
    use axum_providers::prelude::*;

    pub(crate) struct Hits(pub(crate) u32);

    #[provider(scope = transient)]
    pub(crate) fn hits() -> Hits {
        Hits(1)
    }

    pub(crate) use bundle_lib::audit::Audited;

    #[bundle(crate::local::hits, include(crate::local::Audited))]
    pub(crate) struct Local;
}

#[providers(settings, include(local::Local), include(bundle_lib::Storage))]
struct AppProviders;

#[handler(AppProviders)]
async fn audit(trail: Dep<AuditTrail>, hits: Dep<local::Hits>) -> String {
    format!("{} {}", trail.0, hits.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App::<AppProviders>::builder().build().await?;
    let mut scope = app.scope();
    assert_eq!(scope.get::<AuditTrail>().await?.0, "audited on mem://ui");
    scope.close(Outcome::Success).await?;
    app.shutdown().await?;
    let _ = audit;
    Ok(())
}
