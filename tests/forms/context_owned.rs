//! Form `(event, ctx: Context)`, on the multi-thread flavor, with layers.

use lambda_kit::tower::util::MapResponseLayer;
use lambda_kit::{Context, Error};
use serde_json::{Value, json};

fn flavor() -> String {
    format!(
        "{:?}",
        lambda_kit::tokio::runtime::Handle::current().runtime_flavor()
    )
}

#[lambda_kit::handler(
    flavor = "multi_thread",
    layers = [
        MapResponseLayer::new(|response: Value| json!({"outer": response})),
        MapResponseLayer::new(|response: Value| json!({"inner": response})),
    ]
)]
async fn describe(_event: Value, ctx: Context) -> Result<Value, Error> {
    Ok(json!({"requestId": ctx.request_id(), "flavor": flavor()}))
}
