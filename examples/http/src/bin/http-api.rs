//! An axum `Router` behind API Gateway (REST or HTTP API), an Application Load Balancer or
//! a function URL. For any method and path it answers 200 with JSON, the header
//! `x-echo: 1` and the cookie `seen=1`. The body echoes:
//!
//! ```json
//! {"method": "POST", "path": "/orders", "query": {"page": "2"}, "body": "<request body>"}
//! ```
//!
//! `query` holds each name's first value; `body` is the request body as text, base64-decoded
//! when the event says it is encoded.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use lambda_kit::http::QueryStringParameters;
use serde_json::json;

async fn echo(
    method: Method,
    uri: Uri,
    query: Option<axum::Extension<QueryStringParameters>>,
    body: Bytes,
) -> impl IntoResponse {
    let query: BTreeMap<String, String> = query
        .map(|axum::Extension(QueryStringParameters(query))| {
            query
                .iter()
                .filter_map(|(name, _)| Some((name.to_owned(), query.first(name)?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let answer = json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": query,
        "body": String::from_utf8_lossy(&body),
    });
    (
        [(CONTENT_TYPE, "application/json"), (SET_COOKIE, "seen=1")],
        [("x-echo", "1")],
        answer.to_string(),
    )
}

/// The application: every route goes to `echo`. The macro builds it once per environment
/// and serves it; a test calls `lambda_kit::http::service(app())`.
#[lambda_kit::handler(http)]
fn app() -> Router {
    Router::new().fallback(echo)
}
