//! Compile-time error messages: text assembled during const evaluation, for
//! the wiring checks whose wording needs names a trait's
//! `#[diagnostic::on_unimplemented]` message cannot hold (a provider's name,
//! found in the registry), and which fail at the user's token as a panic of
//! the const evaluation.

use crate::provider::{Provides, Registry};
use crate::scope::{Access, ScopeKind, ScopeMarker};

/// A message assembled at compile time, up to 1 KiB (longer text is cut).
#[doc(hidden)]
pub struct Message {
    bytes: [u8; 1024],
    len: usize,
}

impl Message {
    /// A message starting with `text`.
    #[must_use]
    pub const fn new(text: &str) -> Self {
        Self { bytes: [0; 1024], len: 0 }.then(text)
    }

    /// The message followed by `text`.
    #[must_use]
    pub const fn then(mut self, text: &str) -> Self {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = text[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// The text. A message cut inside a character ends before it.
    #[must_use]
    pub const fn as_str(&self) -> &str {
        let mut len = self.len;
        loop {
            let (text, _) = self.bytes.split_at(len);
            if let Ok(text) = core::str::from_utf8(text) {
                return text;
            }
            len -= 1;
        }
    }
}

/// Whether a provider of scope `scope` may take `Dep<T>` (or `DepMut<T>`
/// when `exclusive`) in registry `R`.
///
/// The scopes: app values may be used by every provider, request values by
/// request and transient providers, transient values by transient providers
/// only. The access: `Dep` of a shared value, `DepMut` of an exclusive one
/// (never of an app value, which every request shares).
///
/// `#[provider]` calls it for each dependency while the registry's table is
/// evaluated and, when it may not, panics at the dependency's parameter with
/// [`dependency_violation`]'s message.
#[doc(hidden)]
#[must_use]
pub const fn dependency_allowed<R, T>(scope: ScopeKind, exclusive: bool) -> bool
where
    R: Registry + Provides<T>,
{
    scope_allows(scope, <<R as Provides<T>>::Scope as ScopeMarker>::KIND)
        && exclusive == <<R as Provides<T>>::Access as Access>::EXCLUSIVE
}

/// Whether a provider of scope `scope` may depend on a value of scope
/// `dependency`.
const fn scope_allows(scope: ScopeKind, dependency: ScopeKind) -> bool {
    match scope {
        ScopeKind::App => matches!(dependency, ScopeKind::App),
        ScopeKind::Request => !matches!(dependency, ScopeKind::Transient),
        ScopeKind::Transient => true,
    }
}

/// Why provider `provider`, of scope `scope`, may not take `Dep<T>` (or
/// `DepMut<T>` when `exclusive`), with `T` written `shown`: the rule it
/// breaks, the dependency's provider and the fix. Only called when
/// [`dependency_allowed`] is `false`.
#[doc(hidden)]
#[must_use]
pub const fn dependency_violation<R, T>(
    provider: &str,
    scope: ScopeKind,
    shown: &str,
    exclusive: bool,
) -> Message
where
    R: Registry + Provides<T>,
{
    let dependency = <R as Provides<T>>::NAME;
    let dependency_scope = <<R as Provides<T>>::Scope as ScopeMarker>::KIND;
    if !scope_allows(scope, dependency_scope) {
        return scope_message(provider, scope, shown, dependency, dependency_scope);
    }
    if exclusive {
        if matches!(dependency_scope, ScopeKind::App) {
            Message::new("`DepMut<")
                .then(shown)
                .then(">` cannot borrow the value of `")
                .then(dependency)
                .then("`, which is app-scoped and so shared by every request: ask for `Dep<")
                .then(shown)
                .then(">`, and put a lock or a pool inside `")
                .then(shown)
                .then("` to change it")
        } else {
            Message::new("`DepMut<")
                .then(shown)
                .then(">` needs a provider marked `#[provider(exclusive)]`, and `")
                .then(dependency)
                .then("` shares its value: ask for `Dep<")
                .then(shown)
                .then(">`, or mark `")
                .then(dependency)
                .then("` `#[provider(exclusive)]` to hand its value to one consumer at a time (it is then only available as `DepMut<")
                .then(shown)
                .then(">`)")
        }
    } else {
        Message::new("`Dep<")
            .then(shown)
            .then(">` cannot share the value of `")
            .then(dependency)
            .then("`, which is provided for exclusive use (`#[provider(exclusive)]`) and handed to one consumer at a time: ask for `DepMut<")
            .then(shown)
            .then(">`, or remove `exclusive` from `")
            .then(dependency)
            .then("` if `")
            .then(shown)
            .then("` is `Sync` and may be shared")
    }
}

/// Why a provider of scope `scope` may not depend on a value of scope
/// `dependency_scope`.
const fn scope_message(
    provider: &str,
    scope: ScopeKind,
    shown: &str,
    dependency: &str,
    dependency_scope: ScopeKind,
) -> Message {
    let message = Message::new(match scope {
        ScopeKind::App => "an app-scoped provider cannot depend on `",
        _ => "a request-scoped provider cannot depend on `",
    })
    .then(shown)
    .then("`, whose provider `")
    .then(dependency)
    .then(match dependency_scope {
        ScopeKind::Request => "` is request-scoped (one value per request)",
        _ => "` is transient (a new value for each consumer)",
    });
    match scope {
        ScopeKind::App => message
            .then(": an app-scoped value is set up once, at startup, outside any request, so it may depend on app-scoped values only; make `")
            .then(dependency)
            .then("` app-scoped (`#[provider(scope = app)]`), or make `")
            .then(provider)
            .then(match dependency_scope {
                ScopeKind::Request => "` request-scoped (remove `scope = app`)",
                _ => "` transient (`#[provider(scope = transient)]`)",
            }),
        _ => message
            .then(": a request-scoped value is shared by the whole request, so it may depend on app-scoped and request-scoped values, not on a transient one; make `")
            .then(provider)
            .then("` transient too (`#[provider(scope = transient)]`), or make `")
            .then(dependency)
            .then("` request-scoped (remove `scope = transient`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn a_message_is_its_parts_in_order() {
        assert_eq!(Message::new("a `").then("b").then("` c").as_str(), "a `b` c");
    }

    #[test]
    fn a_cut_message_ends_before_the_character_it_cuts() {
        let long = "x".repeat(1023);
        let message = Message::new(&long).then("é");
        assert_eq!(message.as_str(), long);
    }
}
