//! Form `#[lambda_kit::handler(http, init = ...)]`: an HTTP handler fn with shared state.

use std::convert::Infallible;

use lambda_kit::Context;
use lambda_kit::http::Body;

struct Greeting(&'static str);

fn setup() -> Result<Greeting, Infallible> {
    Ok(Greeting("Hello"))
}

#[lambda_kit::handler(http, init = setup)]
async fn greet(
    request: http::Request<Body>,
    greeting: &Greeting,
) -> Result<http::Response<String>, Infallible> {
    let request_id = request
        .extensions()
        .get::<Context>()
        .map(|ctx| ctx.request_id().to_owned())
        .unwrap_or_default();
    let response = http::Response::builder()
        .header("content-type", "text/plain")
        .header("x-request-id", request_id)
        .body(format!("{} from {}", greeting.0, request.uri().path()))
        .unwrap_or_default();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use lambda_kit::testing::{events, invoke, state};

    #[tokio::test]
    async fn an_http_form_with_init_is_invoked_in_one_line() {
        let handler = super::greet_handler(state(super::Greeting("Hi")));
        let response = invoke(handler, events::api_gateway_v2("GET", "/ada").build())
            .await
            .expect_response();
        assert_eq!(response["body"], "Hi from /ada");
    }
}
