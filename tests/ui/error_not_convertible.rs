use lambda_kit::Context;

#[derive(Debug)]
struct NotAnError;

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, NotAnError> {
    let _ = NotAnError;
    Ok(event)
}
