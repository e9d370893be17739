use lambda_kit::{Context, Error};

#[lambda_kit::handler(flavor = "single")]
async fn hello(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
    Ok(event)
}
