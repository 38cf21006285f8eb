//! Setup and teardown written in one function.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::RwLock;

use crate::error::BoxError;
use crate::outcome::Outcome;
use crate::scope::ScopeKind;

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type TeardownFn<T> = Box<dyn FnOnce(T, Outcome) -> BoxFuture<'static, Result<(), BoxError>> + Send>;

/// A provided value together with the code that tears it down.
///
/// Return it from a provider (alone or inside `Result`) to get teardown: the
/// consumers receive the value, and when its scope closes the closure gets the
/// value back, by value, with the [`Outcome`] of the scope. This is the stable
/// Rust spelling of a `yield` fixture: setup above `Teardown::new`, teardown in
/// the closure.
///
/// The closure's future may return `()` or `Result<(), E>`; an error is
/// collected and logged with the provider's name, and never stops the other
/// teardowns of the scope.
///
/// ```
/// use axum_providers_core::{Outcome, Teardown};
///
/// struct Connection;
/// impl Connection {
///     async fn commit(self) -> Result<(), std::io::Error> { Ok(()) }
///     async fn rollback(self) -> Result<(), std::io::Error> { Ok(()) }
/// }
///
/// fn connection() -> Teardown<Connection> {
///     Teardown::new(Connection, |conn, outcome: Outcome| async move {
///         if outcome.is_success() { conn.commit().await } else { conn.rollback().await }
///     })
/// }
/// # let _ = connection();
/// ```
pub struct Teardown<T> {
    value: T,
    teardown: TeardownFn<T>,
}

impl<T: Send + 'static> Teardown<T> {
    /// Pairs `value` with its teardown.
    pub fn new<F, Fut>(value: T, teardown: F) -> Self
    where
        F: FnOnce(T, Outcome) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TeardownResult,
    {
        Self {
            value,
            teardown: Box::new(move |value, outcome| {
                Box::pin(async move { teardown(value, outcome).await.into_teardown_result() })
            }),
        }
    }

    /// The value, for inspection before it is handed to consumers.
    pub fn value(&self) -> &T {
        &self.value
    }
}

impl<T> std::fmt::Debug for Teardown<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teardown").field("value", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}

/// What a teardown closure's future may return: `()` or `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "a teardown must return `()` or `Result<(), E>`, not `{Self}`",
    label = "returned by this teardown",
    note = "`E` must convert into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait TeardownResult {
    /// Converts into the common form.
    fn into_teardown_result(self) -> Result<(), BoxError>;
}

impl TeardownResult for () {
    fn into_teardown_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> TeardownResult for Result<(), E> {
    fn into_teardown_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// What a provider's setup produced: the value and, maybe, its teardown.
#[doc(hidden)]
pub struct Produced<T> {
    value: T,
    teardown: Option<TeardownFn<T>>,
}

impl<T: Send + Sync + 'static> Produced<T> {
    /// A value without teardown.
    pub fn value(value: T) -> Self {
        Self { value, teardown: None }
    }

    /// A value with teardown.
    pub fn with_teardown(teardown: Teardown<T>) -> Self {
        Self { value: teardown.value, teardown: Some(teardown.teardown) }
    }

    /// Type-erases the value for storage in a scope of kind `kind`: app values
    /// are stored as `Arc<T>`, request and transient values as
    /// `Arc<RwLock<T>>` so that they can be borrowed exclusively.
    pub(crate) fn erase(self, kind: ScopeKind) -> Erased {
        let Self { value, teardown } = self;
        if kind == ScopeKind::App {
            Erased {
                value: Arc::new(value),
                teardown: teardown.map(|run| -> ErasedTeardown {
                    Box::new(move |stored, outcome| {
                        Box::pin(async move {
                            let value = unwrap_stored::<T>(stored)?;
                            run(value, outcome).await
                        })
                    })
                }),
            }
        } else {
            Erased {
                value: Arc::new(RwLock::new(value)),
                teardown: teardown.map(|run| -> ErasedTeardown {
                    Box::new(move |stored, outcome| {
                        Box::pin(async move {
                            let value = unwrap_stored::<RwLock<T>>(stored)?.into_inner();
                            run(value, outcome).await
                        })
                    })
                }),
            }
        }
    }
}

fn unwrap_stored<T: Send + Sync + 'static>(stored: Stored) -> Result<T, BoxError> {
    let typed = stored.downcast::<T>().map_err(|_| "stored value has an unexpected type")?;
    Arc::try_unwrap(typed).map_err(|_| "value still in use at teardown".into())
}

/// A type-erased stored value.
pub(crate) type Stored = Arc<dyn Any + Send + Sync>;

pub(crate) type ErasedTeardown =
    Box<dyn FnOnce(Stored, Outcome) -> BoxFuture<'static, Result<(), BoxError>> + Send>;

/// A type-erased product of setup.
#[doc(hidden)]
pub(crate) struct Erased {
    pub(crate) value: Stored,
    pub(crate) teardown: Option<ErasedTeardown>,
}

/// A value set up in a scope, remembered in setup order for teardown.
pub(crate) struct Entry {
    pub(crate) provider: &'static str,
    pub(crate) value: Stored,
    pub(crate) teardown: Option<ErasedTeardown>,
}

impl Entry {
    /// `true` while a `Dep`/`DepMut` (or a slot) still holds the value.
    pub(crate) fn in_use(&self) -> bool {
        Arc::strong_count(&self.value) > 1
    }

    /// Runs the teardown (or just drops a value that has none).
    pub(crate) async fn finish(self, outcome: Outcome) -> Result<(), crate::error::TeardownError> {
        let Self { provider, value, teardown } = self;
        match teardown {
            None => {
                drop(value);
                Ok(())
            }
            Some(run) => {
                let started = std::time::Instant::now();
                let result = run(value, outcome).await;
                tracing::debug!(
                    provider,
                    %outcome,
                    elapsed_us = started.elapsed().as_micros() as u64,
                    ok = result.is_ok(),
                    "teardown"
                );
                result.map_err(|error| crate::error::TeardownError { provider, error })
            }
        }
    }
}
