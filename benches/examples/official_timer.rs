//! The same function on the official `lambda_runtime` crate, served with its
//! `run_concurrent` (feature `concurrency-tokio`), which runs `AWS_LAMBDA_MAX_CONCURRENCY`
//! workers.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let name = event.payload["name"].as_str().unwrap_or("world");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run_concurrent(service_fn(hello)).await
}
