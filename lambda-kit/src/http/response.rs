//! Writing an `http::Response` in the shape of the integration that sent the request.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use super::event::Source;
use super::request::ResponseShape;

/// The JSON answer API Gateway, the load balancer or the function URL turns into an HTTP
/// response.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum HttpResponse {
    /// REST and WebSocket APIs.
    ApiGatewayV1(ProxyResponse),
    /// HTTP APIs and function URLs.
    ApiGatewayV2(PayloadV2Response),
    /// Application Load Balancer.
    Alb(AlbResponse),
    /// VPC Lattice (both event structures).
    Lattice(LatticeResponse),
}

/// The REST (payload 1.0) and WebSocket response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    status_code: u16,
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    body: String,
    is_base64_encoded: bool,
}

/// The HTTP API (payload 2.0) and function URL response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadV2Response {
    status_code: u16,
    headers: BTreeMap<String, String>,
    cookies: Vec<String>,
    body: String,
    is_base64_encoded: bool,
}

/// The Application Load Balancer response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbResponse {
    status_code: u16,
    status_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    body: String,
    is_base64_encoded: bool,
}

/// The VPC Lattice response: one value per header (repeated values joined with `,`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatticeResponse {
    status_code: u16,
    headers: BTreeMap<String, String>,
    body: String,
    is_base64_encoded: bool,
}

/// Builds the answer for `shape` from a response's parts.
pub(crate) fn answer(
    shape: ResponseShape,
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let (body, is_base64_encoded) = encode_body(headers, body);
    let status_code = status.as_u16();
    match shape.source {
        Source::ApiGatewayV1 | Source::WebSocket => HttpResponse::ApiGatewayV1(ProxyResponse {
            status_code,
            headers: single_values(headers, None),
            multi_value_headers: shape.multi_value.then(|| multi_values(headers)),
            body,
            is_base64_encoded,
        }),
        Source::ApiGatewayV2 | Source::FunctionUrl => {
            HttpResponse::ApiGatewayV2(PayloadV2Response {
                status_code,
                // Each Set-Cookie goes into `cookies`; other repeated headers are comma-joined.
                headers: single_values(headers, Some(http::header::SET_COOKIE)),
                cookies: headers
                    .get_all(http::header::SET_COOKIE)
                    .iter()
                    .filter_map(|value| value.to_str().ok().map(str::to_owned))
                    .collect(),
                body,
                is_base64_encoded,
            })
        }
        Source::VpcLatticeV1 | Source::VpcLatticeV2 => HttpResponse::Lattice(LatticeResponse {
            status_code,
            headers: single_values(headers, None),
            body,
            is_base64_encoded,
        }),
        Source::Alb => HttpResponse::Alb(AlbResponse {
            status_code,
            status_description: format!(
                "{} {}",
                status_code,
                status.canonical_reason().unwrap_or("Unknown")
            ),
            headers: (!shape.multi_value).then(|| single_values(headers, None)),
            multi_value_headers: shape.multi_value.then(|| multi_values(headers)),
            body,
            is_base64_encoded,
        }),
    }
}

/// One value per name, repeated values joined with `,` (except `skip`).
fn single_values(headers: &HeaderMap, skip: Option<http::HeaderName>) -> BTreeMap<String, String> {
    let mut single = BTreeMap::new();
    for name in headers.keys() {
        if skip.as_ref() == Some(name) {
            continue;
        }
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        single.insert(name.as_str().to_owned(), values.join(","));
    }
    single
}

fn multi_values(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut multi = BTreeMap::new();
    for name in headers.keys() {
        let values = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        multi.insert(name.as_str().to_owned(), values);
    }
    multi
}

/// The body as the response shape carries it, and whether that is base64.
fn encode_body(headers: &HeaderMap, body: Bytes) -> (String, bool) {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    crate::body_text::encode(content_type, &body)
}
