//! A provided type declared inside a function body cannot be named beside
//! the provider's module: declare it at module level.

use axum_providers::prelude::*;

#[tokio::main]
async fn main() {
    struct Local;

    #[provider]
    fn local() -> Local {
        Local
    }

    #[providers(local)]
    struct AppProviders;
}
