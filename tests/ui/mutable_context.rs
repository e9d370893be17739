use lambda_kit::{Context, Error};

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, ctx: &mut Context) -> Result<serde_json::Value, Error> {
    let _ = ctx;
    Ok(event)
}
