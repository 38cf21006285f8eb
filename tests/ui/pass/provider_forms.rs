//! Every accepted form of `#[provider]`: sync and async, `T`, `Result<T, E>`,
//! `Teardown<T>`, `Result<Teardown<T>, E>`, extractor parameters, `DepMut`
//! parameters, all three scopes.

use axum::extract::Query;
use axum::http::HeaderMap;
use axum_extra::TypedHeader;
use axum_extra::headers::UserAgent;
use axum_providers::prelude::*;

struct Config;
struct Pool;
struct Connection;
struct Agent(String);
struct Page(u32);
struct Nonce;
struct Counter(u32);
struct Summary;

#[derive(serde::Deserialize)]
struct Paging {
    page: Option<u32>,
}

#[provider(scope = app)]
fn config() -> Config {
    Config
}

#[provider(scope = app)]
async fn pool(_config: Dep<Config>) -> Result<Teardown<Pool>, std::io::Error> {
    Ok(Teardown::new(Pool, |_pool, _outcome| async {}))
}

#[provider(teardown = after_response)]
async fn connection(_pool: Dep<Pool>) -> Teardown<Connection> {
    Teardown::new(Connection, |_connection, outcome: Outcome| async move {
        if outcome.is_success() { Ok(()) } else { Err(std::io::Error::other("rolled back")) }
    })
}

#[provider]
fn agent(TypedHeader(agent): TypedHeader<UserAgent>, _headers: HeaderMap) -> Agent {
    Agent(agent.as_str().to_owned())
}

#[provider(scope = request)]
async fn page(Query(paging): Query<Paging>) -> Result<Page, std::num::ParseIntError> {
    Ok(Page(paging.page.unwrap_or(1)))
}

#[provider(scope = transient)]
fn nonce(_config: Dep<Config>, _connection: Dep<Connection>) -> Nonce {
    Nonce
}

#[provider(teardown = before_response, exclusive)]
fn counter() -> Teardown<Counter> {
    Teardown::new(Counter(0), |_, _| async {})
}

#[provider]
async fn summary(mut counter: DepMut<Counter>, _agent: Dep<Agent>, _page: Dep<Page>) -> Summary {
    counter.0 += 1;
    Summary
}

#[providers(config, pool, connection, agent, page, nonce, counter, summary)]
struct AppProviders;

#[handler(AppProviders)]
async fn show(_summary: Dep<Summary>, _nonce: Dep<Nonce>, agent: Dep<Agent>, page: Dep<Page>) -> String {
    format!("{} {}", agent.0, page.0)
}

fn main() {
    let _router: axum::Router<axum_providers::Providers<AppProviders>> = axum::Router::new().route("/", axum::routing::get(show));
}
