//! The handles consumers receive: [`Dep`] (shared) and [`DepMut`] (exclusive).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::held::{Cell, ExclusiveCell, SharedCell};

/// Shared access to a provided value of type `T`.
///
/// As a handler argument (or a provider parameter) it asks for the value by its
/// type: `Dep<PgPool>`, `Dep<User>`. It derefs to `T`. Holding it keeps the
/// value alive: a request-scoped value is torn down only after its last `Dep`
/// is dropped, so a streaming body or a WebSocket that moved a `Dep` in keeps
/// the value until it ends.
pub struct Dep<T> {
    cell: Arc<SharedCell<T>>,
}

impl<T> Dep<T> {
    pub(crate) fn from_cell(cell: Arc<SharedCell<T>>) -> Self {
        Self { cell }
    }
}

impl<T: Send + Sync + 'static> Dep<T> {
    /// A `Dep` of `value` that no scope owns: to call a provider (or any
    /// function that takes `Dep`s) directly, in a unit test. The value has
    /// no teardown and is dropped with its last `Dep`.
    ///
    /// ```
    /// use axum_providers::prelude::*;
    ///
    /// pub struct Config { pub greeting: String }
    /// pub struct Greeter(pub String);
    ///
    /// #[provider]
    /// fn greeter(config: Dep<Config>) -> Greeter {
    ///     Greeter(config.greeting.to_uppercase())
    /// }
    ///
    /// # fn main() {
    /// let greeter = greeter(Dep::new(Config { greeting: "hello".into() }));
    /// assert_eq!(greeter.0, "HELLO");
    /// # }
    /// ```
    #[must_use]
    pub fn new(value: T) -> Self {
        Self::from_cell(Arc::new(SharedCell::new(value)))
    }
}

impl<T> Deref for Dep<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match &self.cell.value {
            Some(value) => value,
            // The value leaves its cell only when the cell's last handle is
            // gone, and this `Dep` is one.
            None => unreachable!("a provided value was taken while a `Dep` held it"),
        }
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
    cell: Arc<ExclusiveCell<T>>,
    /// Moved out of the cell while lent; put back on drop.
    value: Option<T>,
}

impl<T: Send + 'static> DepMut<T> {
    /// A `DepMut` of `value` that no scope owns: to call a provider that
    /// takes one directly, in a unit test. The value has no teardown and is
    /// dropped with the `DepMut`.
    ///
    /// ```
    /// use axum_providers::prelude::*;
    ///
    /// pub struct Cart(pub Vec<String>);
    /// pub struct Total(pub usize);
    ///
    /// #[provider(exclusive)]
    /// fn cart() -> Cart { Cart(Vec::new()) }
    ///
    /// #[provider]
    /// fn total(cart: DepMut<Cart>) -> Total { Total(cart.0.len()) }
    ///
    /// # fn main() {
    /// let total = total(DepMut::new(Cart(vec!["milk".into(), "bread".into()])));
    /// assert_eq!(total.0, 2);
    /// # }
    /// ```
    #[must_use]
    pub fn new(value: T) -> Self {
        let cell = Arc::new(ExclusiveCell::new(value));
        let value = cell.lend(); // a new cell: lent to no one yet
        Self { cell, value }
    }
}

impl<T> DepMut<T> {
    /// Borrows the value of `cell`: `None` while another `DepMut` has it.
    pub(crate) fn lend(cell: Arc<ExclusiveCell<T>>) -> Option<Self> {
        let value = cell.lend()?;
        Some(Self { cell, value: Some(value) })
    }
}

impl<T> Drop for DepMut<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.cell.give_back(value);
        }
    }
}

impl<T> Deref for DepMut<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match &self.value {
            Some(value) => value,
            None => unreachable!("a `DepMut` holds its value until it is dropped"),
        }
    }
}

impl<T> DerefMut for DepMut<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.value {
            Some(value) => value,
            None => unreachable!("a `DepMut` holds its value until it is dropped"),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for DepMut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DepMut").field(&**self).finish()
    }
}
