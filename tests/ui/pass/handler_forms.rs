//! `#[handler]` on an associated function, on a generic handler (arguments
//! that name its parameters are left to the route), with `Lazy<T>`.

#![deny(warnings)]

use axum::Router;
use axum::routing::get;
use axum_providers::prelude::*;

struct Greeting(&'static str);

#[provider(scope = app)]
fn greeting() -> Greeting {
    Greeting("hello")
}

#[providers(greeting)]
struct AppProviders;

struct Pages;

impl Pages {
    #[handler(AppProviders)]
    async fn home(greeting: Dep<Greeting>) -> &'static str {
        greeting.0
    }
}

trait Named: Send + Sync + 'static {
    const NAME: &'static str;
}

impl Named for Greeting {
    const NAME: &'static str = "greeting";
}

#[handler(AppProviders)]
async fn named<T: Named>(_value: Dep<T>, greeting: Lazy<Greeting>) -> String {
    match greeting.get().await {
        Ok(greeting) => format!("{} {}", T::NAME, greeting.0),
        Err(_) => String::new(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::<AppProviders>::builder().build().await.expect("the app starts");
    let _router: Router = Router::new()
        .route("/", get(Pages::home))
        .route("/named", get(named::<Greeting>))
        .with_providers(&app);
    app.shutdown().await.expect("the app shuts down");
}
