//! A function for the local HTTP API tests (`--serve-http`): answers 200 with the event it
//! got as its JSON body, so a test sees exactly what the integration sent. The path
//! `/fail` makes it fail, and `/malformed` answers a status code no integration reads.

use lambda_kit::Error;
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn echo(event: Value) -> Result<Value, Error> {
    let path = event["rawPath"]
        .as_str()
        .or_else(|| event["path"].as_str())
        .unwrap_or_default();
    match path {
        "/fail" => Err(Error::new("Echo.Refused", "asked to fail")),
        "/malformed" => Ok(json!({"statusCode": "not a status"})),
        _ => Ok(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": event.to_string(),
        })),
    }
}
