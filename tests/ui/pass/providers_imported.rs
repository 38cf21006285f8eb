//! Providers are ordinary items: `use db::pool;` and `use db::pool as p;`
//! bring the provider along with the function, and the registry lists it by
//! that name. Paths in the provided type (`self::`, `super::`) mean what they
//! mean beside the function.

#![deny(warnings)]

use axum_providers::prelude::*;

mod db {
    use axum_providers::prelude::*;

    pub struct Settings(pub &'static str);
    pub struct Pool(pub &'static str);

    #[provider(scope = app)]
    pub fn settings() -> self::Settings {
        Settings("db")
    }

    #[provider(scope = app)]
    pub async fn pool(settings: Dep<Settings>) -> Pool {
        Pool(settings.0)
    }

    /// Never listed: a provider no registry names compiles without a warning.
    #[provider]
    pub fn spare() -> Settings {
        Settings("spare")
    }

    pub mod audit {
        use axum_providers::prelude::*;

        pub struct Trail(pub &'static str);

        #[provider]
        pub fn trail(pool: Dep<super::Pool>) -> super::super::db::audit::Trail {
            Trail(pool.0)
        }
    }
}

use db::audit::trail as audit_trail;
use db::pool;
use db::settings as db_settings;

#[providers(pool, db_settings, audit_trail)]
struct AppProviders;

#[handler(AppProviders)]
async fn show(pool: Dep<db::Pool>, trail: Dep<db::audit::Trail>) -> String {
    format!("{} {}", pool.0, trail.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::<AppProviders>::builder().build().await.expect("the app starts");
    let pool = app.get::<db::Pool>().await.expect("the pool is an app value");
    assert_eq!(pool.0, "db");
    let _ = (show, db::spare);
    drop(pool);
    app.shutdown().await.expect("the app shuts down");
}
