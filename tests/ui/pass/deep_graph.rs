//! A chain of 16 providers, each depending on the previous one, resolved in a
//! handler: deep graphs compile (setup futures are boxed per provider, so
//! their types do not nest) and resolve.

use axum_providers::prelude::*;

struct Level<const N: usize>(usize);

#[provider(scope = app)]
fn l0() -> Level<0> {
    Level(0)
}

macro_rules! chain {
    ($($name:ident: $n:literal <- $prev:literal),*) => {
        $(
            #[provider]
            async fn $name(previous: Dep<Level<$prev>>) -> Level<$n> {
                Level(previous.0 + 1)
            }
        )*
    };
}

chain!(
    l1: 1 <- 0, l2: 2 <- 1, l3: 3 <- 2, l4: 4 <- 3, l5: 5 <- 4, l6: 6 <- 5, l7: 7 <- 6, l8: 8 <- 7,
    l9: 9 <- 8, l10: 10 <- 9, l11: 11 <- 10, l12: 12 <- 11, l13: 13 <- 12, l14: 14 <- 13, l15: 15 <- 14
);

#[providers(l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15)]
struct AppProviders;

#[handler(AppProviders)]
async fn deepest(level: Dep<Level<15>>) -> String {
    level.0.to_string()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let mut scope = app.scope();
    assert_eq!(scope.get::<Level<15>>().await.expect("deepest").0, 15);
    scope.close(Outcome::Success).await.expect("teardown");
    let _router: axum::Router = axum::Router::new().route("/", axum::routing::get(deepest)).with_providers(&app);
}
