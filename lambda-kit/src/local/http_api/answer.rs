//! The HTTP response an integration makes of the function's answer: the response shape of
//! its payload format, or a stream's prelude and body. What the integration would refuse
//! (a function error, a response it cannot read, a stream where it takes none) is a `502`,
//! with the reason on stderr, as API Gateway logs it.

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::Integration;
use crate::local::serve::{Outcome, ReplyBody, StreamPiece, stream_body, whole};
use crate::streaming::HTTP_INTEGRATION_CONTENT_TYPE;

/// Where a stream's prelude ends.
const PRELUDE_SEPARATOR: [u8; 8] = [0; 8];
/// How much of a stream may come before its separator (REST APIs' documented bound).
const MAX_PRELUDE_BYTES: usize = 16 * 1024;

/// Why the integration answers `502`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadGateway {
    /// The function failed.
    #[error("the function failed: {0}")]
    FunctionError(String),
    /// The function's response is not what the integration reads.
    #[error("the function's response is malformed for {integration}: {reason}")]
    Malformed {
        integration: &'static str,
        reason: String,
    },
}

/// The HTTP response for `outcome`, or why the integration answers `502`.
pub(crate) async fn respond(
    integration: Integration,
    outcome: Outcome,
) -> Result<Response<ReplyBody>, BadGateway> {
    let malformed = |reason: String| BadGateway::Malformed {
        integration: integration.name(),
        reason,
    };
    match outcome {
        Outcome::Error(body) => Err(BadGateway::FunctionError(
            String::from_utf8_lossy(&body).into_owned(),
        )),
        Outcome::Response(body) => buffered(integration, &body).map_err(malformed),
        Outcome::Stream {
            content_type,
            pieces,
        } => {
            if !integration.streams() {
                return Err(malformed(format!(
                    "the function streamed its response, which {} does not take: serve it with \
                     --integration url (a function URL in RESPONSE_STREAM mode) or rest (a REST \
                     API that streams), or answer with http::service",
                    integration.name()
                )));
            }
            if content_type != HTTP_INTEGRATION_CONTENT_TYPE {
                // A raw stream: its bytes are the body, with its content type.
                let mut response =
                    Response::new(stream_body(Bytes::new(), pieces, end_of_failed_stream));
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_TYPE, content_type);
                return Ok(response);
            }
            streamed(pieces).await.map_err(malformed)
        }
    }
}

/// The `502` an integration answers, with the message its own `502` carries.
pub(crate) fn bad_gateway(integration: Integration) -> Response<ReplyBody> {
    let message = match integration {
        Integration::RestApi => r#"{"message": "Internal server error"}"#,
        Integration::HttpApi | Integration::FunctionUrl => r#"{"message":"Internal Server Error"}"#,
        Integration::Alb => "<html><body><h1>502 Bad Gateway</h1></body></html>",
    };
    let content_type = match integration {
        Integration::Alb => "text/html",
        _ => "application/json",
    };
    let mut response = whole(Response::new(Full::new(Bytes::from_static(
        message.as_bytes(),
    ))));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

/// A response shape's fields, as every payload format has some of them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    status_code: Option<serde_json::Value>,
    #[serde(default)]
    headers: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    multi_value_headers: Option<BTreeMap<String, Vec<serde_json::Value>>>,
    #[serde(default)]
    cookies: Option<Vec<String>>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
}

/// A whole response in the integration's shape.
fn buffered(integration: Integration, answer: &[u8]) -> Result<Response<ReplyBody>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(answer).map_err(|error| format!("not JSON: {error}"))?;
    let is_shaped = value.get("statusCode").is_some();
    if !is_shaped {
        return match integration {
            // Payload 2.0 takes any JSON without a status code as the body of a 200.
            Integration::HttpApi | Integration::FunctionUrl => {
                let mut response = whole(Response::new(Full::new(Bytes::copy_from_slice(answer))));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Ok(response)
            }
            Integration::RestApi | Integration::Alb => Err("no statusCode".into()),
        };
    }
    let shape: Shape =
        serde_json::from_value(value).map_err(|error| format!("unexpected fields: {error}"))?;
    let mut response = whole(Response::new(Full::new(shape.body()?)));
    // Only payload 2.0 has `cookies`.
    let cookies = matches!(integration, Integration::HttpApi | Integration::FunctionUrl);
    shape.apply(&mut response, cookies)?;
    Ok(response)
}

impl Shape {
    /// Sets the response's status and headers from the shape: `headers`, then
    /// `multiValueHeaders` (which win for a name in both), then `cookies` as `Set-Cookie`
    /// when the shape has them.
    fn apply(&self, response: &mut Response<ReplyBody>, cookies: bool) -> Result<(), String> {
        *response.status_mut() = self.status()?;
        for (name, value) in self.headers.iter().flatten() {
            append(response, name, value)?;
        }
        for (name, values) in self.multi_value_headers.iter().flatten() {
            response.headers_mut().remove(name.as_str());
            for value in values {
                append(response, name, value)?;
            }
        }
        if cookies {
            for cookie in self.cookies.iter().flatten() {
                append(
                    response,
                    "set-cookie",
                    &serde_json::Value::String(cookie.clone()),
                )?;
            }
        }
        Ok(())
    }

    fn status(&self) -> Result<StatusCode, String> {
        let code = match &self.status_code {
            None => return Ok(StatusCode::OK),
            Some(code) => code
                .as_u64()
                .or_else(|| code.as_str().and_then(|text| text.parse().ok())),
        };
        code.and_then(|code| u16::try_from(code).ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(|| format!("statusCode {:?} is not an HTTP status", self.status_code))
    }

    fn body(&self) -> Result<Bytes, String> {
        let text = match &self.body {
            None | Some(serde_json::Value::Null) => return Ok(Bytes::new()),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        if self.is_base64_encoded == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map(Bytes::from)
                .map_err(|error| format!("isBase64Encoded, but the body is not base64: {error}"))
        } else {
            Ok(Bytes::from(text))
        }
    }
}

/// Adds a header from a response shape: strings as they are, numbers and booleans as
/// their text (API Gateway accepts those).
fn append(
    response: &mut Response<ReplyBody>,
    name: &str,
    value: &serde_json::Value,
) -> Result<(), String> {
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => value.to_string(),
        other => return Err(format!("header {name:?} has the value {other}")),
    };
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a header name"))?;
    let value =
        HeaderValue::from_str(&text).map_err(|_| format!("{text:?} is not a header value"))?;
    response.headers_mut().append(name, value);
    Ok(())
}

/// A stream with an HTTP prelude: the prelude's status, headers and cookies, then the body
/// as it comes.
async fn streamed(mut pieces: mpsc::Receiver<StreamPiece>) -> Result<Response<ReplyBody>, String> {
    let mut head = BytesMut::new();
    let separator = loop {
        if let Some(at) = head
            .windows(PRELUDE_SEPARATOR.len())
            .position(|window| window == PRELUDE_SEPARATOR)
        {
            break at;
        }
        if head.len() > MAX_PRELUDE_BYTES {
            return Err(format!(
                "no prelude separator within the first {MAX_PRELUDE_BYTES} bytes"
            ));
        }
        match pieces.recv().await {
            Some(StreamPiece::Data(chunk)) => head.extend_from_slice(&chunk),
            Some(StreamPiece::Failed(error)) => {
                return Err(format!(
                    "the stream failed before its prelude ended: {}",
                    String::from_utf8_lossy(&error)
                ));
            }
            None => return Err("the stream ended before its prelude did".into()),
        }
    };
    let mut head = head.freeze();
    let rest = head.split_off(separator + PRELUDE_SEPARATOR.len());
    let shape: Shape = serde_json::from_slice(&head[..separator])
        .map_err(|error| format!("the prelude is not the expected JSON: {error}"))?;
    // What came after the separator in the same chunk goes first.
    let mut response = Response::new(stream_body(rest, pieces, end_of_failed_stream));
    shape.apply(&mut response, true)?;
    Ok(response)
}

/// A stream that fails part way is cut off, as the integrations cut it (the status and
/// headers are sent already): the client sees the response end early. The reason goes to
/// stderr.
fn end_of_failed_stream(error: Bytes) -> Option<http::HeaderMap> {
    eprintln!(
        "lambda-kit: the response stream failed part way and was cut off: {}",
        String::from_utf8_lossy(&error)
    );
    None
}
