//! An async init fn that fails: the handler must never run.

use lambda_kit::{Context, Error};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("DATABASE_URL is not set")]
struct DatabaseUrlMissing;

struct DatabaseUrl(String);

async fn connect() -> Result<DatabaseUrl, DatabaseUrlMissing> {
    std::env::var("DATABASE_URL")
        .map(DatabaseUrl)
        .map_err(|_| DatabaseUrlMissing)
}

#[lambda_kit::handler(init = connect)]
async fn query(_event: Value, _ctx: &Context, url: &DatabaseUrl) -> Result<Value, Error> {
    Ok(Value::String(url.0.clone()))
}
