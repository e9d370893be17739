use lambda_kit::{Context, Error};

struct State;

fn setup() -> Result<State, Error> {
    Ok(State)
}

#[lambda_kit::handler(init = setup)]
async fn hello(event: serde_json::Value, _ctx: &Context, _state: &State, extra: u32) -> Result<serde_json::Value, Error> {
    let _ = extra;
    Ok(event)
}
