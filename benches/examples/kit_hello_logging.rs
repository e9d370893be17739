//! The benchmark's lambda-kit function with one log line per invocation, for the variant
//! that measures JSON logging and X-Ray.

use lambda_kit::Error;
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn hello(event: Value) -> Result<Value, Error> {
    let name = event["name"].as_str().unwrap_or("world");
    tracing::info!(name, "greeting");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}
