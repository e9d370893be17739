use lambda_kit::{Context, Error};
use lambda_kit::http::Body;

#[lambda_kit::handler(http)]
async fn api(_request: http::Request<Body>, _ctx: &Context) -> Result<http::Response<String>, Error> {
    Ok(http::Response::new(String::new()))
}
