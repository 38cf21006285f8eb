use axum_providers::prelude::*;

struct Factory;
struct Pool;

impl Factory {
    #[provider]
    fn pool(&self) -> Pool {
        Pool
    }
}

fn main() {}
