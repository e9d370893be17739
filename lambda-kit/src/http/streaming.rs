//! HTTP services whose response body is streamed: function URLs with
//! `InvokeMode: RESPONSE_STREAM` and API Gateway REST APIs whose integration has
//! `responseTransferMode: STREAM`.
//!
//! Lambda does not tell a function whether an invocation streams (no `/next` header says
//! so), so the choice is the function's configuration, written in code: [`service`]
//! answers buffered, [`streaming_service`] streams. The two must match the integration:
//! a buffered answer to a streaming function URL reaches the client as its JSON text, and
//! a stream to a buffered one as the prelude's bytes.
//!
//! [`service`]: super::service

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use http_body_util::BodyExt;
use tower::Service;

use super::Body;
use super::event::{HttpEvent, Source};
use super::response::{self, HttpResponse};
use crate::error::Error;
use crate::handler::LambdaEvent;
use crate::response::{FunctionResponse, IntoFunctionResponse, encode_response};
use crate::streaming::HttpStreamResponse;

/// Makes a Lambda handler out of an HTTP service whose response body is streamed as it is
/// produced, for a function URL with `InvokeMode: RESPONSE_STREAM` or a REST API whose
/// integration streams.
///
/// The status, headers and cookies go first, in the prelude the integration reads (REST
/// APIs get repeated headers as `multiValueHeaders`); then each frame of the body is posted
/// as the service yields it, and the next one is asked for only once it has been written.
/// A body that fails part way ends the stream with Lambda's error trailers. Requests from
/// integrations that never stream (HTTP APIs, load balancers, WebSocket APIs, VPC Lattice)
/// are answered buffered, in their own shape.
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use http_body_util::StreamBody;
/// use hyper::body::Frame;
/// use lambda_kit::http::Body;
///
/// // Any tower service of `http::Request<Body>` whose body streams: an axum `Router`
/// // with server-sent events, or a function like this one.
/// let count = tower::service_fn(|_request: http::Request<Body>| async {
///     let lines = (1..=3).map(|n| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("{n}\n")))));
///     let body = StreamBody::new(futures_util::stream::iter(lines));
///     Ok::<_, Infallible>(http::Response::new(body))
/// });
/// let handler = lambda_kit::http::streaming_service(count);
/// # let _ = handler;
/// ```
pub fn streaming_service<S>(inner: S) -> HttpStreamingService<S> {
    HttpStreamingService { inner }
}

/// A Lambda handler that serves HTTP events with an HTTP service and streams its
/// responses; see [`streaming_service`].
#[derive(Debug, Clone)]
pub struct HttpStreamingService<S> {
    inner: S,
}

/// What [`HttpStreamingService`] answers: a stream, or a buffered response for an
/// integration that does not stream.
#[derive(Debug)]
pub enum HttpAnswer {
    /// The prelude, then the body as it is produced.
    Streamed(HttpStreamResponse),
    /// The whole response in the integration's JSON shape.
    Buffered(HttpResponse),
}

impl IntoFunctionResponse for HttpAnswer {
    fn into_function_response(self) -> Result<FunctionResponse, Error> {
        match self {
            HttpAnswer::Streamed(stream) => stream.into_function_response(),
            HttpAnswer::Buffered(response) => {
                encode_response(&response).map(FunctionResponse::Buffered)
            }
        }
    }
}

impl<S, B> Service<LambdaEvent<HttpEvent>> for HttpStreamingService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<Error>,
    B: BodyExt<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    type Response = HttpAnswer;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpAnswer, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, event: LambdaEvent<HttpEvent>) -> Self::Future {
        let (response, shape) = match super::call_with_request(&mut self.inner, event) {
            Ok(called) => called,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        Box::pin(async move {
            let (parts, body) = response.await.map_err(Into::into)?.into_parts();
            let multi_value = match shape.source {
                Source::FunctionUrl => false,
                Source::ApiGatewayV1 => true,
                Source::ApiGatewayV2
                | Source::Alb
                | Source::WebSocket
                | Source::VpcLatticeV1
                | Source::VpcLatticeV2 => {
                    let body = super::collect_body(body).await?;
                    return Ok(HttpAnswer::Buffered(response::answer(
                        shape,
                        parts.status,
                        &parts.headers,
                        body,
                    )));
                }
            };
            // Data frames only: the integrations have no use for the body's trailers.
            let chunks = body
                .into_data_stream()
                .map_err(|error| super::body_error(&error));
            let mut stream = HttpStreamResponse::new(chunks).status(parts.status.as_u16());
            for (name, value) in &parts.headers {
                if let Ok(value) = value.to_str() {
                    stream = stream.header(name.as_str(), value);
                }
            }
            if multi_value {
                stream = stream.multi_value_headers();
            }
            Ok(HttpAnswer::Streamed(stream))
        })
    }
}
