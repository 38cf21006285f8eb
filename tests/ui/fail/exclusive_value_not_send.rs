//! An exclusive value must be `Send`: it is handed from task to task.

use std::rc::Rc;

use axum_providers::prelude::*;

#[provider(exclusive)]
fn counter() -> Rc<u32> {
    Rc::new(0)
}

#[providers(counter)]
struct AppProviders;

fn main() {}
