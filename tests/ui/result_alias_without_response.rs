use lambda_kit::{Context, Error};

type OrderResult = Result<serde_json::Value, Error>;

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, _ctx: Context) -> OrderResult {
    Ok(event)
}
