use std::cell::Cell;

use axum_providers::prelude::*;

/// `Send` but not `Sync`.
struct Counter(Cell<u64>);

#[provider]
fn counter() -> Counter {
    Counter(Cell::new(0))
}

fn main() {}
