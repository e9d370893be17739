use lambda_kit::{Context, Error};

struct State;

#[lambda_kit::handler]
async fn hello(event: serde_json::Value, _ctx: &Context, _state: &State) -> Result<serde_json::Value, Error> {
    Ok(event)
}
