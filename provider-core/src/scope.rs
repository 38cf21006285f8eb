//! Scope markers and the rules of which scope may depend on which.

/// The three lifetimes a provided value can have, as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    /// One value per app container, set up at startup, torn down at shutdown.
    App,
    /// One value per request (or hand-opened scope), shared by all its consumers.
    Request,
    /// A new value for each consumer, torn down with the scope that created it.
    Transient,
}

impl ScopeKind {
    /// The name used in attributes, logs and graphs: `app`, `request` or `transient`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Request => "request",
            Self::Transient => "transient",
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A scope marker type: [`AppScope`], [`RequestScope`] or [`TransientScope`].
pub trait ScopeMarker: sealed::Sealed + Send + Sync + 'static {
    /// The scope as a value.
    const KIND: ScopeKind;
    /// The scope as a number, for [`ScopeId`].
    #[doc(hidden)]
    const ID: u8;
}

/// The scope marker of number `N` (see [`Scope::ID`]).
///
/// Generated registries name a provider's scope as
/// `<ScopeId<{ .. }> as ScopeById>::Marker`: a const expression is not part of
/// a type's privacy, so a public registry may list private provider functions.
#[doc(hidden)]
pub struct ScopeId<const N: u8>;

/// Maps a [`ScopeId`] to its marker type.
#[doc(hidden)]
pub trait ScopeById {
    /// The marker.
    type Marker: ScopeMarker;
}
impl ScopeById for ScopeId<0> {
    type Marker = AppScope;
}
impl ScopeById for ScopeId<1> {
    type Marker = RequestScope;
}
impl ScopeById for ScopeId<2> {
    type Marker = TransientScope;
}

/// Marker of the `app` scope (`#[provider(scope = app)]`).
#[derive(Debug, Clone, Copy)]
pub struct AppScope;
/// Marker of the `request` scope, the default (`#[provider]`).
#[derive(Debug, Clone, Copy)]
pub struct RequestScope;
/// Marker of the `transient` scope (`#[provider(scope = transient)]`).
#[derive(Debug, Clone, Copy)]
pub struct TransientScope;

impl sealed::Sealed for AppScope {}
impl sealed::Sealed for RequestScope {}
impl sealed::Sealed for TransientScope {}
impl ScopeMarker for AppScope {
    const KIND: ScopeKind = ScopeKind::App;
    const ID: u8 = 0;
}
impl ScopeMarker for RequestScope {
    const KIND: ScopeKind = ScopeKind::Request;
    const ID: u8 = 1;
}
impl ScopeMarker for TransientScope {
    const KIND: ScopeKind = ScopeKind::Transient;
    const ID: u8 = 2;
}

/// [`App::get`](crate::App::get) may give `T`: `Self`, the scope of `T`'s
/// provider, is [`AppScope`].
#[diagnostic::on_unimplemented(
    message = "`App::get` gives app-scoped values only, and the provider of `{T}` has scope `{Self}`",
    label = "`{T}` is not an app-scoped value",
    note = "open a scope for request-scoped and transient values: `let mut scope = app.scope(); scope.get::<{T}>().await`"
)]
pub trait AppValue<T: ?Sized>: ScopeMarker {}

impl<T: ?Sized> AppValue<T> for AppScope {}

/// How consumers may access a provider's values: [`SharedAccess`] (the
/// default: `Dep<T>` and `DepMut<T>`) or [`ExclusiveAccess`]
/// (`#[provider(exclusive)]`: only `DepMut<T>`, and `T` need not be `Sync`).
pub trait Access: sealed::Sealed + Send + Sync + 'static {
    /// `true` for [`ExclusiveAccess`].
    const EXCLUSIVE: bool;
    /// The access as a number, for [`AccessId`].
    #[doc(hidden)]
    const ID: u8;
}

/// Values shared by every consumer of a scope, through `Dep<T>` (one
/// reference count each). `T` must be `Sync`.
#[derive(Debug, Clone, Copy)]
pub struct SharedAccess;

/// Values handed out only for exclusive use (`DepMut<T>`):
/// `#[provider(exclusive)]`. `T` need only be `Send` (a connection, a
/// transaction, a client that is not `Sync`).
#[derive(Debug, Clone, Copy)]
pub struct ExclusiveAccess;

impl sealed::Sealed for SharedAccess {}
impl sealed::Sealed for ExclusiveAccess {}
impl Access for SharedAccess {
    const EXCLUSIVE: bool = false;
    const ID: u8 = 0;
}
impl Access for ExclusiveAccess {
    const EXCLUSIVE: bool = true;
    const ID: u8 = 1;
}

/// The access marker of number `N` (see [`Access::ID`]); like [`ScopeId`].
#[doc(hidden)]
pub struct AccessId<const N: u8>;

/// Maps an [`AccessId`] to its marker type.
#[doc(hidden)]
pub trait AccessById {
    /// The marker.
    type Marker: Access;
}
impl AccessById for AccessId<0> {
    type Marker = SharedAccess;
}
impl AccessById for AccessId<1> {
    type Marker = ExclusiveAccess;
}

/// Values of this access can be shared with `Dep<T>`.
#[diagnostic::on_unimplemented(
    message = "this value is provided for exclusive use (`#[provider(exclusive)]`) and cannot be shared with `Dep`",
    label = "ask for `DepMut<..>` here",
    note = "an exclusive provider hands its value to one consumer at a time: use `DepMut<T>`, or remove `exclusive` from the provider if `T` is `Sync` and may be shared"
)]
pub trait Shareable: Access {}
impl Shareable for SharedAccess {}

#[cfg(test)]
mod tests {
    use super::{AppScope, RequestScope, ScopeKind, ScopeMarker, TransientScope};

    #[test]
    fn markers_name_their_kind() {
        assert_eq!(<AppScope as ScopeMarker>::KIND, ScopeKind::App);
        assert_eq!(<RequestScope as ScopeMarker>::KIND, ScopeKind::Request);
        assert_eq!(<TransientScope as ScopeMarker>::KIND, ScopeKind::Transient);
        assert_eq!(ScopeKind::Transient.as_str(), "transient");
    }
}
