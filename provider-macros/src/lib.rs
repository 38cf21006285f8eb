//! Attribute macros of `axum-providers`. Use them through the `axum-providers`
//! facade, whose documentation has the guide; the generated code reaches the
//! runtime through `::axum_providers` (or the path given with `crate = ...`).

mod bundle;
mod diagnostics;
mod handler;
mod provider;
mod providers;

use proc_macro::TokenStream;

/// Turns a function into a provider of the type it returns.
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct Config { pub greeting: String }
/// pub struct Greeter(String);
///
/// #[provider(scope = app)] // set up once, at `build()`
/// fn config() -> Config {
///     Config { greeting: "hello".into() }
/// }
///
/// #[provider] // request scope is the default: set up once per request, on first use
/// async fn greeter(config: Dep<Config>) -> Result<Greeter, std::io::Error> {
///     Ok(Greeter(config.greeting.clone()))
/// }
///
/// #[providers(config, greeter)]
/// struct AppProviders;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = App::<AppProviders>::builder().build().await?;
/// # let mut scope = app.scope();
/// # assert_eq!(scope.get::<Greeter>().await?.0, "hello");
/// # scope.close(Outcome::Success).await?;
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// - Goes on an `async fn` or a plain `fn`, which returns `T`, `Result<T, E>`,
///   `Teardown<T>` or `Result<Teardown<T>, E>`; consumers receive `T`. An error
///   `E` that implements axum's `IntoResponse` is the response; any other
///   becomes a `500` whose body reveals nothing, and is logged.
/// - Parameters: `Dep<T>` (and `DepMut<T>`) for other provided types; for
///   request-scoped and transient providers, also any axum `FromRequestParts`
///   extractor (its rejection becomes the response) and borrowed parts of the
///   request head (`&HeaderMap`, `&Parts`, `&Uri`, `&Method`, `&Version`,
///   `&Extensions`).
/// - The function stays as written (a unit test can call it, with its `Dep`s
///   made by `Dep::new(value)`); a module with the same name is generated
///   next to it, to be listed in [`#[providers(..)]`](macro@providers)
///   (functions and modules live in separate namespaces, so `use db::pool;`
///   brings both; a `mod` of your own with that name next to it conflicts).
///
/// # Arguments
///
/// Any of these, comma-separated, in any order; each at most once.
///
/// | argument | meaning | default |
/// |---|---|---|
/// | `scope = app \| request \| transient` | how long a value lives | `request` |
/// | `exclusive` | hand the value out only as `DepMut<T>`, to one consumer at a time | shared, `Dep<T>` |
/// | `teardown = before_response \| after_response` | when a request value's teardown runs | `before_response` |
/// | `health = check_fn` | a health check of an app-scoped value | none |
/// | `name = "db::pool"` | the provider's name in errors, logs, health reports and graphs | the function's name |
/// | `crate = "path"` | where the facade is, when renamed | `::axum_providers` |
///
/// ## `scope = app | request | transient`
///
/// `app`: one value per app container, set up at `build()` in dependency
/// order and torn down at shutdown. `request` (the default): one value per
/// request, shared by all its consumers. `transient`: a new value for each
/// consumer, torn down with the request that created it. A provider may only
/// depend on providers that live at least as long (a compile error otherwise).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use axum_providers::prelude::*;
///
/// #[derive(Default)]
/// pub struct Counter(AtomicU64);
/// pub struct Ticket(pub u64);
///
/// #[provider(scope = app)]
/// fn counter() -> Counter { Counter::default() }
///
/// #[provider(scope = transient)]
/// fn ticket(counter: Dep<Counter>) -> Ticket {
///     Ticket(counter.0.fetch_add(1, Ordering::Relaxed))
/// }
///
/// #[providers(counter, ticket)]
/// struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let mut scope = app.scope();
/// let first = scope.get::<Ticket>().await?;
/// let second = scope.get::<Ticket>().await?; // transient: a new one for each consumer
/// assert_eq!((first.0, second.0), (0, 1));
/// # drop((first, second));
/// # scope.close(Outcome::Success).await?;
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// ## `exclusive`
///
/// The value is handed out as `DepMut<T>` (a `&mut T`), to one consumer at a
/// time, and need only be `Send`: connections, transactions, buffers. Asking
/// for it again while a `DepMut` of it is alive fails at once (never a
/// deadlock); `#[handler]` rejects the same `DepMut<T>` twice at compile time.
/// Request and transient scopes only.
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct Cart(pub Vec<String>);
///
/// #[provider(exclusive)]
/// fn cart() -> Cart { Cart(Vec::new()) }
///
/// #[providers(cart)]
/// struct AppProviders;
///
/// #[handler(AppProviders)]
/// async fn add(mut cart: DepMut<Cart>) -> String {
///     cart.0.push("milk".into());
///     cart.0.join(", ")
/// }
/// # fn main() {}
/// ```
///
/// ## `teardown = before_response | after_response`
///
/// For a provider that returns a `Teardown<T>` (request or transient scope):
/// `before_response` (the default) runs the teardown before the response is
/// sent, so a failed commit turns the response into a `500`;
/// `after_response` runs it once the response body was sent, for cleanup that
/// need not delay the client.
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct AuditLog(Vec<String>);
///
/// #[provider(teardown = after_response)]
/// fn audit_log() -> Teardown<AuditLog> {
///     Teardown::new(AuditLog(Vec::new()), |log, outcome| async move {
///         println!("{} entries, request ended with {outcome}", log.0.len());
///     })
/// }
///
/// #[providers(audit_log)]
/// struct AppProviders;
/// # fn main() {}
/// ```
///
/// ## `health = check_fn`
///
/// A health check of an app-scoped value, `async fn check_fn(value: &T) ->
/// Result<(), E>`; [`App::health`] runs every check, and the `readiness`
/// route answers with them.
///
/// [`App::health`]: https://docs.rs/axum-providers/latest/axum_providers/struct.App.html#method.health
///
/// ```
/// use std::time::Duration;
/// use axum_providers::prelude::*;
///
/// pub struct Queue;
///
/// async fn ping(_queue: &Queue) -> Result<(), std::io::Error> {
///     Ok(())
/// }
///
/// #[provider(scope = app, health = ping)]
/// fn queue() -> Queue { Queue }
///
/// #[providers(queue)]
/// struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let report = app.health(Duration::from_secs(2)).await;
/// assert!(report.is_ready());
/// assert_eq!(report.checks[0].provider, "queue");
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// ## `name = "db::pool"`
///
/// The name the provider goes by in errors ("provider `db::pool` failed"),
/// logs, spans, health reports and graphs: the function's name by default.
/// Qualify it when two providers share a function name, as the built-in
/// ones do (`sqlx::postgres::pool`, `sqlx::sqlite::pool`,
/// `deadpool_postgres::pool`, `redis::connection`).
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct Queue;
///
/// #[derive(Debug)]
/// pub struct Unreachable;
/// impl std::fmt::Display for Unreachable {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("unreachable") }
/// }
/// impl std::error::Error for Unreachable {}
///
/// #[provider(scope = app, name = "jobs::queue")]
/// fn queue() -> Result<Queue, Unreachable> { Err(Unreachable) }
///
/// #[providers(queue)]
/// struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let error = App::<AppProviders>::builder().build().await.unwrap_err();
/// assert_eq!(error.provider(), "jobs::queue");
/// # }
/// ```
///
/// ## `crate = "path"`
///
/// The generated code reaches the runtime through `::axum_providers`; when the
/// facade is renamed in `Cargo.toml` (or re-exported by another crate), give
/// its path, as a string or a path. `#[providers]` and `#[handler]` take the
/// same argument.
///
/// ```
/// extern crate axum_providers as di;
///
/// use di::{Dep, provider, providers};
///
/// pub struct Config;
/// pub struct Client;
///
/// #[provider(scope = app, crate = "di")]
/// fn config() -> Config { Config }
///
/// #[provider(crate = di)]
/// fn client(_config: Dep<Config>) -> Client { Client }
///
/// #[providers(config, client, crate = di)]
/// struct AppProviders;
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn provider(args: TokenStream, input: TokenStream) -> TokenStream {
    provider::provider(args.into(), input.into()).into()
}

/// Names the providers of an app, on a unit struct: the registry that
/// `App<R>`, `Dep<T>` and `#[handler(R)]` are checked against.
///
/// ```
/// use axum_providers::prelude::*;
///
/// pub struct Config;
/// pub struct User;
///
/// mod db {
///     pub struct Pool;
///     #[axum_providers::provider(scope = app)]
///     pub fn pool() -> Pool { Pool }
/// }
///
/// #[provider(scope = app)]
/// fn config() -> Config { Config }
///
/// #[provider]
/// fn user(_config: Dep<Config>, _pool: Dep<db::Pool>) -> User { User }
///
/// #[providers(config, db::pool, user)] // provider functions, by name or path
/// pub struct AppProviders;
///
/// use db::pool as main_pool; // imported under another name: the same provider
///
/// #[providers(config, main_pool, user)]
/// pub struct SameProviders;
/// # fn main() {}
/// ```
///
/// Checked at compile time, each with a message at your code: every dependency
/// of every listed provider is listed and lives long enough, no two providers
/// produce the same type, and there is no dependency cycle. Providers are
/// ordinary items: `use db::pool;` or `use db::pool as p;` and list `pool` or
/// `p`.
///
/// # Arguments
///
/// Besides the provider names:
///
/// | argument | meaning |
/// |---|---|
/// | `include(Bundle)` | every provider of a [`#[bundle(..)]`](macro@bundle), usually from a library (the built-in integrations are bundles) |
/// | `autouse = [a, b]` | providers set up for every request, before its handler, whether or not anything asks for them (each must be listed too) |
/// | `crate = "path"` | where the facade is, when renamed (see [`#[provider]`](macro@provider)) |
///
/// ## `include(Bundle)`
///
/// The bundle's providers join the list, and are checked with it: a
/// dependency the bundle needs and the app does not provide, a type provided
/// by both the app and the bundle, a cycle through the bundle, are compile
/// errors at `include(..)`. See [`#[bundle(..)]`](macro@bundle) to write one.
///
/// ```
/// mod greetings {
///     use axum_providers::prelude::*;
///
///     pub struct Name(pub String);
///     pub struct Greeting(pub String);
///
///     #[provider]
///     pub fn greeting(name: Dep<Name>) -> Greeting {
///         Greeting(format!("hello, {}", name.0))
///     }
///
///     #[bundle(crate::greetings::greeting)]
///     pub struct Greetings;
/// }
///
/// use axum_providers::prelude::*;
/// use greetings::{Greeting, Greetings, Name};
///
/// #[provider(scope = app)]
/// fn name() -> Name { Name("ada".into()) } // what the bundle needs
///
/// #[providers(name, include(Greetings))]
/// pub struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let mut scope = app.scope();
/// assert_eq!(scope.get::<Greeting>().await?.0, "hello, ada");
/// # scope.close(Outcome::Success).await?;
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// ## `autouse = [..]`
///
/// ```
/// use axum::http::HeaderMap;
/// use axum_providers::prelude::*;
///
/// pub struct RequestId(pub String);
/// pub struct AccessLog;
///
/// #[provider]
/// fn request_id(headers: HeaderMap) -> RequestId {
///     RequestId(headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").into())
/// }
///
/// #[provider]
/// fn access_log(id: Dep<RequestId>) -> Teardown<AccessLog> {
///     let id = id.0.clone();
///     Teardown::new(AccessLog, move |_, outcome| async move { println!("{id}: {outcome}") })
/// }
///
/// #[providers(request_id, access_log, autouse = [access_log])]
/// pub struct AppProviders;
/// # fn main() {}
/// ```
///
/// ## `crate = "path"`
///
/// ```
/// extern crate axum_providers as di;
///
/// #[di::provider(crate = di)]
/// fn answer() -> u32 { 42 }
///
/// #[di::providers(answer, crate = "di")]
/// pub struct AppProviders;
/// ```
#[proc_macro_attribute]
pub fn providers(args: TokenStream, input: TokenStream) -> TokenStream {
    providers::providers(args.into(), input.into()).into()
}

/// Checks a handler's `Dep<T>` and `DepMut<T>` arguments against the app's
/// providers, reporting a mistake at the argument: a type no provider
/// produces (`no provider produces `User` in `AppProviders``), a `Dep` of an
/// exclusive value or a `DepMut` of a shared one, the same `DepMut<T>` twice.
///
/// Optional: without it a handler works the same, but a missing provider is
/// reported by rustc as axum's "`Handler<_, _>` is not implemented" at the
/// route, and its provided arguments are set up one after the other.
///
/// With two or more `Dep`/`DepMut` arguments, it puts one more argument in
/// front of the first of them, `_: Together<(A, B, ..)>`: an extractor that
/// sets their providers up together, those that wait and do not depend on
/// each other side by side (see the concurrency guide,
/// `axum_providers::guide::concurrency`). A test that calls the handler
/// directly passes `Together::new()` there. The rest of the handler is left
/// as written.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_providers::prelude::*;
///
/// pub struct User(String);
///
/// #[provider]
/// fn user() -> User { User("ada".into()) }
///
/// #[providers(user)]
/// pub struct AppProviders;
///
/// #[handler(AppProviders)]
/// async fn show(user: Dep<User>) -> String {
///     user.0.clone()
/// }
///
/// # async fn run() -> Result<(), axum_providers::BuildError> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let router: Router = Router::new().route("/me", get(show)).with_providers(&app);
/// # drop(router);
/// # Ok(()) }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// | argument | meaning |
/// |---|---|
/// | the providers type (first, required) | the registry of [`#[providers(..)]`](macro@providers) the handler is served with |
/// | `crate = "path"` | where the facade is, when renamed (see [`#[provider]`](macro@provider)) |
///
/// ```
/// extern crate axum_providers as di;
///
/// use di::{Dep, handler, provider, providers};
///
/// pub struct Client;
///
/// #[provider(scope = app, crate = di)]
/// fn client() -> Client { Client }
///
/// #[providers(client, crate = di)]
/// pub struct AppProviders;
///
/// #[handler(AppProviders, crate = "di")]
/// async fn ping(_client: Dep<Client>) -> &'static str {
///     "pong"
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn handler(args: TokenStream, input: TokenStream) -> TokenStream {
    handler::handler(args.into(), input.into()).into()
}

/// Names a group of providers that an app's registry includes in one
/// argument, `include(Bundle)` in [`#[providers(..)]`](macro@providers): the
/// way a library hands out its providers (the facade's sqlx, deadpool-postgres
/// and Redis integrations are bundles).
///
/// ```
/// mod storage {
///     // In a library crate, usually; here a module of the same crate.
///     use axum_providers::prelude::*;
///
///     /// Provided by the app that includes the bundle.
///     pub struct StoreSettings { pub url: String }
///     pub struct Store { pub url: String }
///     pub struct Session { pub url: String }
///
///     #[provider(scope = app)]
///     pub fn store(settings: Dep<StoreSettings>) -> Store {
///         Store { url: settings.url.clone() }
///     }
///
///     #[provider]
///     pub fn session(store: Dep<Store>) -> Session {
///         Session { url: store.url.clone() }
///     }
///
///     /// The store and a session per request; needs a `StoreSettings`.
///     #[bundle(crate::storage::store, crate::storage::session)]
///     pub struct Storage;
/// }
///
/// use axum_providers::prelude::*;
/// use storage::{Session, Storage, StoreSettings};
///
/// #[provider(scope = app)]
/// fn settings() -> StoreSettings {
///     StoreSettings { url: "mem://".into() }
/// }
///
/// #[providers(settings, include(Storage))] // one line for the whole bundle
/// pub struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let mut scope = app.scope();
/// assert_eq!(scope.get::<Session>().await?.url, "mem://");
/// # scope.close(Outcome::Success).await?;
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// The bundle's providers are checked in the app's registry as if it listed
/// them, each mistake reported at `include(..)`: a type the bundle needs and
/// the app does not provide (`no provider produces `StoreSettings``, with the
/// bundle's provider that needs it), a type provided by both the app and the
/// bundle (the two are shown), a dependency cycle through the bundle, a
/// scope that does not live long enough. [`AppBuilder::override_value`] and
/// `override_provider` replace a bundle's provider like any other, and
/// [`Graph`] draws each bundle as a box around its providers.
///
/// [`AppBuilder::override_value`]: https://docs.rs/axum-providers/latest/axum_providers/struct.AppBuilder.html#method.override_value
/// [`Graph`]: https://docs.rs/axum-providers/latest/axum_providers/struct.Graph.html
///
/// # Arguments
///
/// Comma-separated, in any order, on a unit struct (which names the bundle
/// in the graph and in the docs; a macro of the same name is generated
/// beside it, so `use lib::Storage;` brings both):
///
/// | argument | meaning |
/// |---|---|
/// | `crate::path::to::provider` | a provider of the bundle, by its path from the crate root |
/// | `include(crate::path::to::Bundle)` | another bundle, whose providers come along |
///
/// Paths start at `crate::` because the app, in another crate, reaches the
/// providers through the bundle (as `$crate::..`); they must be public
/// there. A bundle of another crate is included by the path of a
/// re-export: `pub use other_crate::Bundle;`, then
/// `include(crate::module::Bundle)`. A bundle reached twice (included by the
/// app and by another bundle) is listed once.
///
/// ## `include(..)`
///
/// ```
/// mod cache {
///     use axum_providers::prelude::*;
///
///     pub struct Cache;
///     pub struct Stats(pub u32);
///
///     #[provider(scope = app)]
///     pub fn cache() -> Cache { Cache }
///
///     #[provider]
///     pub fn stats(_cache: Dep<Cache>) -> Stats { Stats(7) }
///
///     #[bundle(crate::cache::cache)]
///     pub struct CacheOnly;
///
///     /// The cache and its statistics.
///     #[bundle(crate::cache::stats, include(crate::cache::CacheOnly))]
///     pub struct CacheWithStats;
/// }
///
/// use axum_providers::prelude::*;
///
/// #[providers(include(cache::CacheWithStats))]
/// pub struct AppProviders;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = App::<AppProviders>::builder().build().await?;
/// let mut scope = app.scope();
/// assert_eq!(scope.get::<cache::Stats>().await?.0, 7);
/// # scope.close(Outcome::Success).await?;
/// # app.shutdown().await?;
/// # Ok(()) }
/// ```
#[proc_macro_attribute]
pub fn bundle(args: TokenStream, input: TokenStream) -> TokenStream {
    bundle::bundle(args.into(), input.into()).into()
}
