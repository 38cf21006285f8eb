//! The handles consumers receive: [`Dep`] (shared) and [`DepMut`] (exclusive).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use parking_lot::{ArcMutexGuard, RawMutex};

/// Shared access to a provided value of type `T`.
///
/// As a handler argument (or a provider parameter) it asks for the value by its
/// type: `Dep<PgPool>`, `Dep<User>`. It derefs to `T`. Holding it keeps the
/// value alive: a request-scoped value is torn down only after its last `Dep`
/// is dropped, so a streaming body or a WebSocket that moved a `Dep` in keeps
/// the value until it ends.
pub struct Dep<T> {
    value: Arc<T>,
}

impl<T> Dep<T> {
    pub(crate) fn new(value: Arc<T>) -> Self {
        Self { value }
    }
}

impl<T> Deref for Dep<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Dep<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Dep").field(&**self).finish()
    }
}

/// Exclusive access to a request-scoped or transient value of type `T` of an
/// exclusive provider (`#[provider(exclusive)]`, whose `T` need not be
/// `Sync`): a transaction, a connection, a buffer. Shared values are read
/// through [`Dep`] only.
///
/// Derefs mutably to `T`. While a `DepMut<T>` is alive, asking for `T` again in
/// the same request (as `Dep` or `DepMut`) fails at once with a clear error
/// instead of waiting; it never deadlocks. The value goes back to the scope
/// when the `DepMut` is dropped, and its teardown receives it.
pub struct DepMut<T> {
    guard: Box<dyn DerefMut<Target = T> + Send>,
}

impl<T: 'static> DepMut<T> {
    /// A value of an exclusive provider (`#[provider(exclusive)]`): `T` need
    /// only be `Send`.
    pub(crate) fn locked(guard: ArcMutexGuard<RawMutex, T>) -> Self
    where
        T: Send,
    {
        Self { guard: Box::new(guard) }
    }
}

impl<T> Deref for DepMut<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for DepMut<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for DepMut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DepMut").field(&**self).finish()
    }
}
