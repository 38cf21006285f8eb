//! An exclusive provider's value need only be `Send`; it is handed out as
//! `DepMut<T>` to handlers and providers alike.

use std::cell::Cell;
use std::marker::PhantomData;

use axum_providers::prelude::*;

/// `Send` but not `Sync`, like a database connection.
struct Connection {
    queries: u64,
    _not_sync: PhantomData<Cell<()>>,
}

struct Report(u64);

#[provider(exclusive)]
fn connection() -> Teardown<Connection> {
    Teardown::new(Connection { queries: 0, _not_sync: PhantomData }, |_, _| async {})
}

#[provider]
fn report(mut connection: DepMut<Connection>) -> Report {
    connection.queries += 1;
    Report(connection.queries)
}

#[providers(connection, report)]
struct AppProviders;

#[handler(AppProviders)]
async fn show(report: Dep<Report>, mut connection: DepMut<Connection>) -> String {
    connection.queries += 1;
    tokio::task::yield_now().await;
    format!("{} {}", report.0, connection.queries)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::<AppProviders>::builder().build().await.expect("app builds");
    let mut scope = app.scope();
    let report = scope.get::<Report>().await.expect("report");
    assert_eq!(report.0, 1);
    drop(report);
    scope.close(Outcome::Success).await.expect("teardown");
    let _router: axum::Router = axum::Router::new().route("/", axum::routing::get(show)).with_providers(&app);
}
