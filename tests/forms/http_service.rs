//! Form `#[lambda_kit::handler(http)]` on a fn without parameters: it returns the HTTP
//! service (an axum `Router`, or here any tower service), built once per environment.

use std::convert::Infallible;

use lambda_kit::http::Body;
use lambda_kit::tower::Service;

#[lambda_kit::handler(http)]
fn app() -> impl Service<
    http::Request<Body>,
    Response = http::Response<String>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    lambda_kit::tower::service_fn(|request: http::Request<Body>| async move {
        Ok::<_, Infallible>(http::Response::new(format!(
            "served {}",
            request.uri().path()
        )))
    })
}

#[cfg(test)]
mod tests {
    use lambda_kit::testing::{events, invoke};

    #[tokio::test]
    async fn the_service_is_invoked_in_one_line() {
        let handler = lambda_kit::http::service(super::app());
        let response = invoke(handler, events::api_gateway_v2("GET", "/ada").build())
            .await
            .expect_response();
        assert_eq!(response["body"], "served /ada");
    }
}
