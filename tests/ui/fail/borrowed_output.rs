//! Provided values own their data: a provider cannot return a borrow.

use axum::http::HeaderMap;
use axum_providers::prelude::*;

struct View<'a>(&'a str);

#[provider]
fn user_agent(headers: &HeaderMap) -> &str {
    headers.get("user-agent").and_then(|value| value.to_str().ok()).unwrap_or("")
}

#[provider]
fn view(headers: &HeaderMap) -> View<'_> {
    View(headers.get("x-view").and_then(|value| value.to_str().ok()).unwrap_or(""))
}

#[provider]
fn named<'a>(headers: &'a HeaderMap) -> View<'a> {
    View(headers.get("x-name").and_then(|value| value.to_str().ok()).unwrap_or(""))
}

fn main() {}
