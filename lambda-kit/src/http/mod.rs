//! HTTP adapters: API Gateway REST, HTTP and WebSocket APIs, Application Load Balancers,
//! function URLs and VPC Lattice (event structures 1 and 2), served by any `tower::Service<http::Request<Body>>` (an axum `Router`
//! included). Cargo feature `http`.
//!
//! ```no_run
//! use lambda_kit::http::{self, Body};
//! use lambda_kit::tower::service_fn;
//!
//! async fn hello(request: ::http::Request<Body>) -> Result<::http::Response<String>, std::convert::Infallible> {
//!     Ok(::http::Response::new(format!("you asked for {}", request.uri().path())))
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), lambda_kit::Error> {
//!     lambda_kit::Runtime::from_env()?.run(http::service(service_fn(hello))).await
//! }
//! ```
//!
//! The integration is recognised from the event with one cheap probe (no trial
//! deserializations). The request carries the body (base64-decoded when the event says
//! so) and these extensions:
//! - [`Source`] and [`RequestContext`];
//! - [`PathParameters`], [`StageVariables`], [`QueryStringParameters`] and [`RawQueryString`];
//! - the invocation's [`crate::Context`].
//!
//! The response is written in the integration's own shape. Multi-value headers are used
//! when the request used them. HTTP APIs and function URLs get `Set-Cookie` headers as
//! `cookies`. Bodies that are not text are base64-encoded.
//!
//! [`service`] answers with the whole response; [`streaming_service`] streams the body as
//! the service produces it, for function URLs with `InvokeMode: RESPONSE_STREAM` and REST
//! APIs whose integration streams. Which one a function uses is its configuration: Lambda
//! does not say whether an invocation streams.

mod event;
pub(crate) mod request;
mod response;
mod streaming;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use aws_lambda_events::alb::AlbTargetGroupRequestContext;
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequestContext, ApiGatewayV2httpRequestContext,
    ApiGatewayWebsocketProxyRequestContext,
};
use aws_lambda_events::query_map::QueryMap;
use aws_lambda_events::vpc_lattice::VpcLatticeRequestV2Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use tower::Service;

pub use event::{HttpEvent, Source};
pub use response::{AlbResponse, HttpResponse, LatticeResponse, PayloadV2Response, ProxyResponse};
pub use streaming::{HttpAnswer, HttpStreamingService, streaming_service};

use crate::error::Error;
use crate::handler::LambdaEvent;

/// The request body handed to HTTP services: the whole body, already read.
pub type Body = http_body_util::Full<Bytes>;

/// The integration's request context, as its event carried it.
#[derive(Debug, Clone)]
pub enum RequestContext {
    /// REST API.
    ApiGatewayV1(Box<ApiGatewayProxyRequestContext>),
    /// HTTP API or function URL.
    ApiGatewayV2(Box<ApiGatewayV2httpRequestContext>),
    /// Application Load Balancer.
    Alb(Box<AlbTargetGroupRequestContext>),
    /// WebSocket API (connection id, route key, event type...).
    WebSocket(Box<ApiGatewayWebsocketProxyRequestContext>),
    /// VPC Lattice, event structure version 1, which has no request context.
    VpcLatticeV1,
    /// VPC Lattice, event structure version 2 (service network, service and target group
    /// ARNs, the caller's identity when the service uses IAM auth).
    VpcLatticeV2(Box<VpcLatticeRequestV2Context>),
}

/// Path parameters matched by API Gateway (`/orders/{id}`).
#[derive(Debug, Clone, Default)]
pub struct PathParameters(pub HashMap<String, String>);

/// API Gateway stage variables.
#[derive(Debug, Clone, Default)]
pub struct StageVariables(pub HashMap<String, String>);

/// The query string parameters, decoded, every value of each name.
#[derive(Debug, Clone, Default)]
pub struct QueryStringParameters(pub QueryMap);

/// The query string as it arrived.
#[derive(Debug, Clone, Default)]
pub struct RawQueryString(pub String);

/// Makes a Lambda handler out of an HTTP service.
///
/// ```
/// use std::convert::Infallible;
/// use lambda_kit::http::Body;
/// use lambda_kit::testing::{events, invoke};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // Any tower service of `http::Request<Body>`: an axum `Router`, or a function.
/// let hello = tower::service_fn(|_request: http::Request<Body>| async {
///     Ok::<_, Infallible>(http::Response::new("Hello!".to_owned()))
/// });
/// let event = events::api_gateway_v2("GET", "/hello").build();
/// let response = invoke(lambda_kit::http::service(hello), event).await.expect_response();
/// assert_eq!(response["body"], "Hello!");
/// # }
/// ```
pub fn service<S>(inner: S) -> HttpService<S> {
    HttpService { inner }
}

/// A Lambda handler that serves HTTP events with an HTTP service; see [`service`].
#[derive(Debug, Clone)]
pub struct HttpService<S> {
    inner: S,
}

impl<S, B> Service<LambdaEvent<HttpEvent>> for HttpService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<Error>,
    B: BodyExt<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    type Response = HttpResponse;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, event: LambdaEvent<HttpEvent>) -> Self::Future {
        let (response, shape) = match call_with_request(&mut self.inner, event) {
            Ok(called) => called,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        Box::pin(async move {
            let (parts, body) = response.await.map_err(Into::into)?.into_parts();
            let body = collect_body(body).await?;
            Ok(response::answer(shape, parts.status, &parts.headers, body))
        })
    }
}

/// Turns the event into an `http::Request` and calls `inner` with it: the response to
/// come, and the shape its answer must take.
fn call_with_request<S>(
    inner: &mut S,
    event: LambdaEvent<HttpEvent>,
) -> Result<(S::Future, request::ResponseShape), Error>
where
    S: Service<http::Request<Body>>,
{
    let (request, shape) = request::into_request(event.payload, event.context)?;
    Ok((inner.call(request), shape))
}

/// Reads a response body to its end.
async fn collect_body<B>(body: B) -> Result<Bytes, Error>
where
    B: BodyExt<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    match body.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(body_error(&error)),
    }
}

/// The error of a response body that failed while it was read.
fn body_error(error: &impl std::fmt::Display) -> Error {
    Error::new(
        "Http.ResponseBody",
        format!("reading the response body failed: {error}"),
    )
}
