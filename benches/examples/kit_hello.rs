//! The benchmark's lambda-kit function: the README's hello, without its log line (the
//! logging variant of the benchmark turns JSON logs and X-Ray on instead).

use lambda_kit::Error;
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn hello(event: Value) -> Result<Value, Error> {
    let name = event["name"].as_str().unwrap_or("world");
    Ok(json!({ "message": format!("Hello, {name}!") }))
}
