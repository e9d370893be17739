use lambda_kit::{Context, Error};

#[lambda_kit::handler]
async fn hello<E: serde::de::DeserializeOwned>(event: E, _ctx: Context) -> Result<(), Error> {
    let _ = event;
    Ok(())
}
