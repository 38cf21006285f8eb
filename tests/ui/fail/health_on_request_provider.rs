use axum_providers::prelude::*;

struct Session;

async fn ping(_session: &Session) -> Result<(), std::io::Error> {
    Ok(())
}

#[provider(health = ping)]
fn session() -> Session {
    Session
}

fn main() {}
