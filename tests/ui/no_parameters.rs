use lambda_kit::Error;

#[lambda_kit::handler]
async fn hello() -> Result<(), Error> {
    Ok(())
}
