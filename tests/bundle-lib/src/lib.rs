//! A library that hands out its providers as bundles, the way a database or
//! cache integration does: [`Storage`] needs a [`Settings`] from the app;
//! [`Audited`](audit::Audited) adds a provider on top and includes [`Storage`].

use std::sync::{Arc, Mutex};

use axum_providers::prelude::*;

/// Provided by the app: the bundle's providers depend on it.
#[derive(Clone)]
pub struct Settings {
    /// Where the store is.
    pub url: String,
    /// Where the bundle's teardowns write what they did.
    pub journal: Journal,
}

/// What the bundle's providers did, in order.
#[derive(Clone, Default)]
pub struct Journal(pub Arc<Mutex<Vec<String>>>);

impl Journal {
    /// Appends `line`.
    pub fn write(&self, line: impl Into<String>) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line.into());
        }
    }

    /// Everything written so far.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|lines| lines.clone()).unwrap_or_default()
    }
}

/// The app-scoped store, opened at startup and closed at shutdown.
pub struct Store {
    /// The URL it was opened with.
    pub url: String,
}

/// A request's session on the store.
pub struct Session {
    /// The store's URL.
    pub url: String,
}

/// A request's audit trail, on top of its session.
pub struct AuditTrail(pub String);

/// The store: app-scoped, needs [`Settings`].
#[provider(scope = app)]
pub fn store(settings: Dep<Settings>) -> Teardown<Store> {
    let journal = settings.journal.clone();
    journal.write(format!("open {}", settings.url));
    Teardown::new(Store { url: settings.url.clone() }, move |store, _outcome| async move {
        journal.write(format!("close {}", store.url));
    })
}

/// A session per request.
#[provider]
pub fn session(store: Dep<Store>, settings: Dep<Settings>) -> Teardown<Session> {
    let journal = settings.journal.clone();
    Teardown::new(Session { url: store.url.clone() }, move |_session, outcome| async move {
        journal.write(format!("session end: {outcome}"));
    })
}

/// The store and a session per request; needs [`Settings`] from the app.
#[bundle(crate::store, crate::session)]
pub struct Storage;

pub mod audit {
    //! A bundle in a module, that includes another bundle.

    use axum_providers::prelude::*;

    use crate::{AuditTrail, Session};

    /// The audit trail of a request.
    #[provider]
    pub fn audit_trail(session: Dep<Session>) -> AuditTrail {
        AuditTrail(format!("audited on {}", session.url))
    }

    /// [`Storage`](crate::Storage) and an audit trail per request.
    #[bundle(crate::audit::audit_trail, include(crate::Storage))]
    pub struct Audited;
}
