use axum_providers::prelude::*;

struct Node;

#[provider]
fn node(_parent: Dep<Node>) -> Node {
    Node
}

#[providers(node)]
struct AppProviders;

fn main() {}
