use axum_providers::prelude::*;

struct Cart(Vec<u32>);

#[provider]
fn cart() -> Cart {
    Cart(Vec::new())
}

#[providers(cart)]
struct AppProviders;

#[handler(AppProviders)]
async fn add(mut cart: DepMut<Cart>) -> &'static str {
    cart.0.push(1);
    "added"
}

fn main() {}
