use lambda_kit::Context;

#[lambda_kit::handler]
async fn hello(_event: serde_json::Value, _ctx: Context) {}
