//! A function for the `--serve` tests: sleeps `sleep_ms` if asked, then says what its
//! context held.

use std::time::Duration;

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn probe(event: Value, ctx: Context) -> Result<Value, Error> {
    if let Some(ms) = event["sleep_ms"].as_u64() {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if event["exit"] == true {
        std::process::exit(3);
    }
    Ok(json!({
        "requestId": ctx.request_id(),
        "clientCustom": ctx.client_context().map(|c| c.custom.clone()),
        "pid": std::process::id(),
        "echo": event["echo"],
        "maxConcurrency": std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok(),
        "runtimeApi": std::env::var("AWS_LAMBDA_RUNTIME_API").ok(),
    }))
}
