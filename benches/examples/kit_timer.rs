//! The concurrency benchmark's lambda-kit function: each invocation awaits a 1 ms timer
//! (standing for a call to another service), so that invocations in flight overlap. With
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1 the macro's `main` runs that many workers.

use std::time::Duration;

use lambda_kit::Error;
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn hello(event: Value) -> Result<Value, Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let name = event["name"].as_str().unwrap_or("world");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}
