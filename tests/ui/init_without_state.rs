use lambda_kit::{Context, Error};

fn setup() -> Result<u32, Error> {
    Ok(1)
}

#[lambda_kit::handler(init = setup)]
async fn hello(event: serde_json::Value, _ctx: &Context) -> Result<serde_json::Value, Error> {
    Ok(event)
}
