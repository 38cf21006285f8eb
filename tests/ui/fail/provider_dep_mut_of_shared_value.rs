//! A provider takes `DepMut<T>` of a shared request value: the error is at
//! the provider's parameter.

use axum_providers::prelude::*;

struct Cart;
struct Checkout;

#[provider]
fn cart() -> Cart {
    Cart
}

#[provider]
fn checkout(_cart: DepMut<Cart>) -> Checkout {
    Checkout
}

#[providers(cart, checkout)]
struct AppProviders;

fn main() {}
