//! Form `(event, ctx: &Context)` on the default (current-thread) flavor.

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn describe(event: Value, ctx: &Context) -> Result<Value, Error> {
    let flavor = format!(
        "{:?}",
        lambda_kit::tokio::runtime::Handle::current().runtime_flavor()
    );
    Ok(json!({"requestId": ctx.request_id(), "event": event, "flavor": flavor}))
}
