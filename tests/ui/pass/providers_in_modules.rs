//! Providers defined in other modules are listed by path.

use axum_providers::prelude::*;

mod db {
    use axum_providers::prelude::*;

    pub struct Pool;

    #[provider(scope = app)]
    pub async fn pool() -> Pool {
        Pool
    }
}

mod auth {
    use axum_providers::prelude::*;

    use crate::db::Pool;

    pub struct User;

    #[provider]
    pub async fn user(_pool: Dep<Pool>) -> User {
        User
    }
}

#[providers(db::pool, auth::user)]
struct AppProviders;

#[handler(AppProviders)]
async fn me(_user: Dep<auth::User>) -> &'static str {
    "me"
}

fn main() {
    let _ = me;
}
