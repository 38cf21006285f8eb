//! A provided value as its scope and its consumers share it: one allocation
//! (an `Arc` of a [`Cell`]), counted by one reference count, that hands the
//! value back to its teardown when its last handle is dropped.
//!
//! The scope's entry owns the value until the scope closes. A value still
//! held by a `Dep` at that time (moved into a streaming body, a WebSocket, a
//! task) gets the sending end of a channel parked in it ([`release`]); the
//! entry lets go of its handle, and the drop of the last handle, whoever holds
//! it, sends the value to the waiting teardown. Nothing polls: the waiter is
//! woken by that drop.

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// A value released by its last handle, on its way to its teardown. Boxed
/// (only values still held as their scope closes take this way), so that one
/// channel type serves every provided type.
pub(crate) type ReleasedValue = Box<dyn Any + Send>;

/// Where a released value is sent: set when its scope closes while the value
/// is still held.
#[doc(hidden)]
pub struct Waiter<T>(parking_lot::Mutex<Option<SendValue<T>>>);

/// Sends a released value to its teardown.
type SendValue<T> = Box<dyn FnOnce(T) + Send + Sync>;

/// How a value is kept in its allocation: shared values as they are (read by
/// every `Dep` at once), exclusive ones behind a lock that lends them to one
/// `DepMut` at a time. Either gives the value back, by value, for teardown.
#[doc(hidden)]
pub trait Cell: Send + Sync + Sized + 'static {
    /// The provided type.
    type Value: Send + 'static;
    /// Wraps a value just set up.
    fn new(value: Self::Value) -> Self;
    /// Takes the value back (`None` only if it was taken already).
    fn take(&mut self) -> Option<Self::Value>;
    /// Where the value goes when the last handle is dropped.
    fn waiter(&self) -> &Waiter<Self::Value>;
}

/// A shared value, read in place by every `Dep`. (The `Option` only lets
/// the last handle's drop move the value to its teardown.)
#[doc(hidden)]
pub struct SharedCell<T> {
    pub(crate) value: Option<T>,
    waiter: Waiter<T>,
}

impl<T: Send + Sync + 'static> Cell for SharedCell<T> {
    type Value = T;

    fn new(value: T) -> Self {
        Self { value: Some(value), waiter: Waiter(parking_lot::Mutex::new(None)) }
    }

    fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    fn waiter(&self) -> &Waiter<T> {
        &self.waiter
    }
}

impl<T> Drop for SharedCell<T> {
    fn drop(&mut self) {
        if self.waiter.is_set() {
            self.waiter.send(self.value.take());
        }
    }
}

/// An exclusive value: lent to one `DepMut` at a time, which moves it out
/// and puts it back when dropped. `T` need only be `Send`.
#[doc(hidden)]
pub struct ExclusiveCell<T> {
    value: Mutex<Option<T>>,
    waiter: Waiter<T>,
}

impl<T: Send + 'static> Cell for ExclusiveCell<T> {
    type Value = T;

    fn new(value: T) -> Self {
        Self { value: Mutex::new(Some(value)), waiter: Waiter(parking_lot::Mutex::new(None)) }
    }

    fn take(&mut self) -> Option<T> {
        self.value.get_mut().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn waiter(&self) -> &Waiter<T> {
        &self.waiter
    }
}

impl<T> ExclusiveCell<T> {
    /// Moves the value out for a `DepMut`: `None` while another one has it.
    pub(crate) fn lend(&self) -> Option<T> {
        self.value.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Puts a lent value back.
    pub(crate) fn give_back(&self, value: T) {
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }
}

impl<T> Drop for ExclusiveCell<T> {
    fn drop(&mut self) {
        if self.waiter.is_set() {
            self.waiter.send(self.value.get_mut().unwrap_or_else(PoisonError::into_inner).take());
        }
    }
}

impl<T> Waiter<T> {
    fn is_set(&mut self) -> bool {
        self.0.get_mut().is_some()
    }

    /// The last handle of a value whose scope closed while it was held: the
    /// value goes to its teardown.
    fn send(&mut self, value: Option<T>) {
        if let Some(send) = self.0.get_mut().take()
            && let Some(value) = value
        {
            send(value);
        }
    }
}

/// The value, taken out of its only handle (`None` if it was taken
/// already); the handle back when another one still holds it.
pub(crate) fn into_value<C: Cell>(handle: Arc<C>) -> Result<Option<C::Value>, Arc<C>> {
    let mut cell = Arc::try_unwrap(handle)?;
    Ok(cell.take())
}

/// Gives up `handle` and returns where the value arrives once every other
/// handle is dropped (at once if this was the last one).
pub(crate) fn release<C: Cell>(handle: Arc<C>) -> oneshot::Receiver<ReleasedValue> {
    let (sender, receiver) = oneshot::channel();
    let send = move |value: C::Value| {
        let _gone = sender.send(Box::new(value) as ReleasedValue);
    };
    *handle.waiter().0.lock() = Some(Box::new(send));
    drop(handle);
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_handle_sends_the_value_to_its_teardown() {
        let first = Arc::new(SharedCell::new(String::from("value")));
        let second = Arc::clone(&first);
        let mut arrived = release(first);
        assert!(arrived.try_recv().is_err(), "still held by `second`");
        drop(second);
        let arrived = arrived.try_recv().ok().and_then(|value| value.downcast::<String>().ok());
        assert_eq!(arrived.as_deref().map(String::as_str), Some("value"));
    }

    #[test]
    fn a_value_no_one_holds_arrives_at_once() {
        let only = Arc::new(ExclusiveCell::new(7_u8));
        let arrived = release(only).try_recv().ok().and_then(|value| value.downcast::<u8>().ok());
        assert_eq!(arrived.as_deref(), Some(&7));
    }

    #[test]
    fn a_held_value_is_not_taken() {
        let first = Arc::new(SharedCell::new(1_u8));
        let second = Arc::clone(&first);
        let Err(first) = into_value(first) else { panic!("taken while `second` held it") };
        drop(second);
        assert_eq!(into_value(first).ok().flatten(), Some(1));
    }
}
