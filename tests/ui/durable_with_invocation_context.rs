use lambda_kit::{Context, Error};

#[lambda_kit::handler(durable)]
async fn order(event: serde_json::Value, ctx: Context) -> Result<serde_json::Value, Error> {
    let _ = ctx;
    Ok(event)
}
