// The function of the logging contenders: one log line per invocation. Included by
// `kit_hello_logging.rs` and `kit_hello_otel.rs`, which differ only in how they are built.

use lambda_kit::Error;
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn hello(event: Value) -> Result<Value, Error> {
    let name = event["name"].as_str().unwrap_or("world");
    tracing::info!(name, "greeting");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}
