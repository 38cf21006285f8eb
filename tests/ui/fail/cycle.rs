use axum_providers::prelude::*;

struct A;
struct B;
struct C;

#[provider]
fn alpha(_c: Dep<C>) -> A {
    A
}

#[provider]
fn beta(_a: Dep<A>) -> B {
    B
}

#[provider]
fn gamma(_b: Dep<B>) -> C {
    C
}

#[providers(alpha, beta, gamma)]
struct AppProviders;

fn main() {}
