use lambda_kit::{Context, Error, LambdaEvent};

#[lambda_kit::handler]
async fn hello(event: LambdaEvent<serde_json::Value>, _ctx: Context) -> Result<(), Error> {
    let _ = event;
    Ok(())
}
