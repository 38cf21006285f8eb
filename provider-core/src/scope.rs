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

/// `Self` (the scope of a dependency) lives at least as long as `S` (the scope of
/// the provider that depends on it).
///
/// `app` values may be used by every provider, `request` values by `request` and
/// `transient` providers, `transient` values only by `transient` providers.
/// Handlers may use all three.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` value cannot be injected into a provider of scope `{S}`",
    label = "this dependency does not live as long as the provider that uses it",
    note = "a provider may only depend on providers that live at least as long: `app` providers may use `app` values; `request` providers may use `app` and `request` values; `transient` providers may use all three",
    note = "make the dependency longer-lived, or make the provider that uses it shorter-lived (`#[provider(scope = request)]`)"
)]
pub trait InjectableInto<S: ScopeMarker>: ScopeMarker {}

impl InjectableInto<AppScope> for AppScope {}
impl InjectableInto<RequestScope> for AppScope {}
impl InjectableInto<RequestScope> for RequestScope {}
impl InjectableInto<TransientScope> for AppScope {}
impl InjectableInto<TransientScope> for RequestScope {}
impl InjectableInto<TransientScope> for TransientScope {}

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
