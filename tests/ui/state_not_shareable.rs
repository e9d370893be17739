use std::rc::Rc;

use lambda_kit::{Context, Error};

struct State {
    cache: Rc<Vec<u8>>,
}

fn setup() -> Result<State, Error> {
    Ok(State { cache: Rc::new(Vec::new()) })
}

#[lambda_kit::handler(init = setup)]
async fn hello(event: serde_json::Value, _ctx: &Context, state: &State) -> Result<serde_json::Value, Error> {
    let _ = state.cache.len();
    Ok(event)
}
