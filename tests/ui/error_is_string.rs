use lambda_kit::Context;

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, String> {
    Ok(event)
}
