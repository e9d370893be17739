use lambda_kit::{Context, Error};
use lambda_kit::http::Body;

struct State;

fn setup() -> Result<State, Error> {
    Ok(State)
}

#[lambda_kit::handler(http, init = setup)]
async fn app(request: http::Request<Body>, _state: &State, ctx: &Context) -> Result<http::Response<String>, Error> {
    let _ = (request, ctx);
    Ok(http::Response::new(String::new()))
}
