use lambda_kit::Error;

#[lambda_kit::handler]
async fn hello(_event: serde_json::Value, _ctx: &mut std::task::Context<'_>) -> Result<(), Error> {
    Ok(())
}
