use lambda_kit::Error;

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, ctx: String) -> Result<serde_json::Value, Error> {
    let _ = ctx;
    Ok(event)
}
