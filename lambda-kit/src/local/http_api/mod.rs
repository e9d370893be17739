//! `bootstrap --serve-http [ADDR] [--integration NAME]`: the function behind a local HTTP
//! API, as `sam local start-api` serves one without Docker.
//!
//! Each HTTP request becomes the event of the chosen integration (`event.rs`), runs through
//! the emulator's function process like any invocation (one at a time), and the answer
//! becomes the integration's HTTP response (`answer.rs`), streamed when the function
//! streams and the integration takes streams. Every path and method reaches the function,
//! as a `{proxy+}` route does, unless routes are given (`--route 'GET /orders/{id}'`,
//! `route.rs`), which also name the event's route key, resource and path parameters. Bad
//! input gets what the integration gives: `404` for a path no route takes, `413` for a body
//! over Lambda's 6 MB, `502` when the function fails or answers what the integration cannot
//! read (the reason on stderr); the server keeps serving.

mod answer;
mod event;
mod route;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::serve::{ReplyBody, Shared, invoke_function, whole};
use crate::api_server::reply;

/// The largest request body the local API passes on: Lambda's limit on a synchronous
/// invocation's event.
const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// The integration whose events and responses the local API speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Integration {
    /// An API Gateway HTTP API (payload format 2.0), the default.
    HttpApi,
    /// An API Gateway REST API's proxy integration (payload format 1.0), streaming when
    /// the function streams (`responseTransferMode: STREAM`).
    RestApi,
    /// A function URL (payload format 2.0), streaming when the function streams
    /// (`InvokeMode: RESPONSE_STREAM`).
    FunctionUrl,
    /// An Application Load Balancer target group (single-value headers).
    Alb,
}

impl Integration {
    /// Reads `--integration`'s value.
    pub(crate) fn parse(name: &str) -> Result<Integration, String> {
        match name {
            "http" => Ok(Integration::HttpApi),
            "rest" => Ok(Integration::RestApi),
            "url" => Ok(Integration::FunctionUrl),
            "alb" => Ok(Integration::Alb),
            other => Err(format!(
                "unknown integration {other:?}: expected http (an HTTP API), rest (a REST API), \
                 url (a function URL) or alb (a load balancer)"
            )),
        }
    }

    /// What the integration is called in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Integration::HttpApi => "an HTTP API",
            Integration::RestApi => "a REST API",
            Integration::FunctionUrl => "a function URL",
            Integration::Alb => "a load balancer",
        }
    }

    /// Whether the integration passes a streamed response on as a stream.
    fn streams(self) -> bool {
        matches!(self, Integration::RestApi | Integration::FunctionUrl)
    }
}

/// What `--serve-http` serves: the integration, and the routes that reach the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Front {
    pub(crate) integration: Integration,
    routes: Vec<route::Route>,
}

impl Front {
    /// Reads `--integration` (`http` when absent) and the `--route`s (`ANY /{proxy+}`
    /// when none). Function URLs and load balancers have no routes: they take every path.
    pub(crate) fn parse(integration: Option<&str>, routes: &[String]) -> Result<Front, String> {
        let integration = integration.map_or(Ok(Integration::HttpApi), Integration::parse)?;
        let routed = matches!(integration, Integration::HttpApi | Integration::RestApi);
        if !routes.is_empty() && !routed {
            return Err(format!(
                "--route is for HTTP and REST APIs: {} takes every path",
                integration.name()
            ));
        }
        let mut parsed = routes
            .iter()
            .map(|text| route::Route::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            parsed.push(route::Route::catch_all());
        }
        Ok(Front {
            integration,
            routes: parsed,
        })
    }

    /// The routes, for the banner.
    pub(crate) fn describe_routes(&self) -> String {
        self.routes
            .iter()
            .map(route::Route::key)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Serves one HTTP request through the function.
pub(crate) async fn serve_request(
    shared: Arc<Shared>,
    timeout: Duration,
    front: &Front,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<ReplyBody>, std::convert::Infallible> {
    let integration = front.integration;
    let time = SystemTime::now();
    let (parts, body) = request.into_parts();
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy();
    let Some(matched) = route::find(&front.routes, parts.method.as_str(), &path) else {
        eprintln!(
            "lambda-kit: {} {}: no route takes it (404)",
            parts.method, parts.uri
        );
        return Ok(not_found());
    };
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            eprintln!(
                "lambda-kit: {} {}: the request body is over {MAX_REQUEST_BYTES} bytes",
                parts.method, parts.uri
            );
            return Ok(too_large());
        }
    };
    let origin = event::Origin {
        peer,
        region: shared.region().to_owned(),
        time,
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let event = event::event(integration, &matched, &parts, &body, &origin);
    let payload = Bytes::from(serde_json::to_vec(&event).unwrap_or_default());
    let invocation_id = uuid::Uuid::new_v4().to_string();
    let outcome = invoke_function(shared, timeout, &invocation_id, payload, None).await;
    match answer::respond(integration, outcome).await {
        Ok(response) => Ok(response),
        Err(bad_gateway) => {
            eprintln!(
                "lambda-kit: {} {} answered 502: {bad_gateway}",
                parts.method, parts.uri
            );
            Ok(answer::bad_gateway(integration))
        }
    }
}

/// `404`, as API Gateway answers a path no route takes.
fn not_found() -> Response<ReplyBody> {
    whole(reply(
        StatusCode::NOT_FOUND,
        Bytes::from_static(br#"{"message":"Not Found"}"#),
    ))
}

/// `413`, as API Gateway answers a request over its payload limit.
fn too_large() -> Response<ReplyBody> {
    whole(reply(
        StatusCode::PAYLOAD_TOO_LARGE,
        Bytes::from_static(br#"{"message":"Request Too Long"}"#),
    ))
}
