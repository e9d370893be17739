//! Turning an [`HttpEvent`] into an `http::Request`, with the Lambda details as extensions.

use std::collections::HashMap;

use aws_lambda_events::query_map::QueryMap;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::event::{HttpEvent, Source};
use super::{
    PathParameters, QueryStringParameters, RawQueryString, RequestContext, StageVariables,
};
use crate::context::Context;
use crate::error::Error;

/// Characters kept as they are in a query key or value.
const QUERY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Characters kept as they are in a decoded path: what RFC 3986 allows in a path segment
/// (`pchar`) and `/`. Everything else is percent-encoded, `%` included, so that decoding
/// the request's path gives back exactly the path the integration sent.
const DECODED_PATH_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'/');

/// What a URI can never hold, in a path or query that is already percent-encoded (as a
/// load balancer passes it on, or an HTTP API's raw query string): these are encoded, and
/// everything else, `%` included, is kept, so existing escapes stay as they were sent.
const NEVER_IN_URI: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The same for a path, where a `?` would start the query.
const NEVER_IN_PATH: &AsciiSet = &NEVER_IN_URI.add(b'?');

/// Whether an integration hands over its path percent-decoded (API Gateway, function URLs)
/// or as the client sent it (load balancers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathForm {
    Decoded,
    AsSent,
}

/// How the response must be written for the integration that sent the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseShape {
    pub(crate) source: Source,
    /// The request used multi-value headers (REST API, or an ALB with them turned on).
    pub(crate) multi_value: bool,
}

/// The request, and the shape its response must take.
pub(crate) fn into_request(
    event: HttpEvent,
    context: Context,
) -> Result<(Request<Full<Bytes>>, ResponseShape), Error> {
    let source = event.source();
    let parts = match event {
        HttpEvent::ApiGatewayV1(event) => {
            let event = *event;
            let multi_value = !event.multi_value_headers.is_empty();
            // The single-value map keeps only the last value of a repeated name.
            let query = if event.multi_value_query_string_parameters.is_empty() {
                event.query_string_parameters
            } else {
                event.multi_value_query_string_parameters
            };
            Parts {
                method: event.http_method,
                path: event.path.unwrap_or_else(|| "/".into()),
                path_form: PathForm::Decoded,
                raw_query: join_query(&query, true),
                headers: if multi_value {
                    event.multi_value_headers
                } else {
                    event.headers
                },
                cookies: Vec::new(),
                body: event.body,
                base64: event.is_base64_encoded,
                query,
                path_parameters: event.path_parameters,
                stage_variables: event.stage_variables,
                context: RequestContext::ApiGatewayV1(Box::new(event.request_context)),
                multi_value,
            }
        }
        HttpEvent::ApiGatewayV2(event, _) => {
            let event = *event;
            Parts {
                method: event.request_context.http.method.clone(),
                path: event.raw_path.unwrap_or_else(|| "/".into()),
                path_form: PathForm::Decoded,
                // Raw, as the client sent it; anything a URI cannot hold is still encoded.
                raw_query: utf8_percent_encode(
                    &event.raw_query_string.unwrap_or_default(),
                    NEVER_IN_URI,
                )
                .to_string(),
                headers: event.headers,
                cookies: event.cookies.unwrap_or_default(),
                body: event.body,
                base64: event.is_base64_encoded,
                query: event.query_string_parameters,
                path_parameters: event.path_parameters,
                stage_variables: event.stage_variables,
                context: RequestContext::ApiGatewayV2(Box::new(event.request_context)),
                multi_value: false,
            }
        }
        HttpEvent::Alb(event) => {
            let event = *event;
            let multi_value = !event.multi_value_headers.is_empty();
            let query = if multi_value {
                event.multi_value_query_string_parameters
            } else {
                event.query_string_parameters
            };
            // The load balancer passes query strings on as the client sent them (encoded).
            let raw_query = join_query(&query, false);
            Parts {
                method: event.http_method,
                path: event.path.unwrap_or_else(|| "/".into()),
                path_form: PathForm::AsSent,
                raw_query,
                headers: if multi_value {
                    event.multi_value_headers
                } else {
                    event.headers
                },
                cookies: Vec::new(),
                body: event.body,
                base64: event.is_base64_encoded,
                query,
                path_parameters: HashMap::new(),
                stage_variables: HashMap::new(),
                context: RequestContext::Alb(Box::new(event.request_context)),
                multi_value,
            }
        }
        HttpEvent::VpcLatticeV1(event) => {
            let event = *event;
            // The event's body is always text (base64 when the flag says so); its type also
            // has a binary form, which is passed on as base64.
            let body = match event.body {
                None => LatticeBody::default(),
                Some(aws_lambda_events::encodings::Body::Text(text)) => LatticeBody {
                    text: Some(text),
                    base64: event.is_base64_encoded,
                },
                Some(other) => LatticeBody {
                    text: Some(base64::engine::general_purpose::STANDARD.encode(other.as_ref())),
                    base64: true,
                },
            };
            let request = LatticeRequest {
                method: event.method,
                path: event.raw_path,
                headers: event.headers,
                body,
                query: event.query_string_parameters,
            };
            request.into_parts(RequestContext::VpcLatticeV1)?
        }
        HttpEvent::VpcLatticeV2(event) => {
            let event = *event;
            let request = LatticeRequest {
                method: event.method,
                path: event.path,
                headers: event.headers,
                body: LatticeBody {
                    text: event.body,
                    base64: event.is_base64_encoded,
                },
                query: event.query_string_parameters,
            };
            request.into_parts(RequestContext::VpcLatticeV2(Box::new(
                event.request_context,
            )))?
        }
        HttpEvent::WebSocket(event) => {
            let event = *event;
            Parts {
                method: event.http_method.unwrap_or(Method::POST),
                path: event.path.unwrap_or_else(|| "/".into()),
                path_form: PathForm::Decoded,
                raw_query: join_query(&event.query_string_parameters, true),
                headers: event.headers,
                cookies: Vec::new(),
                body: event.body,
                base64: event.is_base64_encoded,
                query: event.query_string_parameters,
                path_parameters: event.path_parameters,
                stage_variables: event.stage_variables,
                context: RequestContext::WebSocket(Box::new(event.request_context)),
                multi_value: false,
            }
        }
    };
    let multi_value = parts.multi_value;
    let request = parts.build(source, context)?;
    Ok((
        request,
        ResponseShape {
            source,
            multi_value,
        },
    ))
}

/// What the two VPC Lattice event structures share.
struct LatticeRequest {
    method: Option<Method>,
    /// The path with the query string, as the client sent it.
    path: Option<String>,
    headers: HeaderMap,
    body: LatticeBody,
    query: QueryMap,
}

/// A Lattice request's body, as text, and whether that text is base64.
#[derive(Default)]
struct LatticeBody {
    text: Option<String>,
    base64: bool,
}

impl LatticeRequest {
    fn into_parts(self, context: RequestContext) -> Result<Parts, Error> {
        // Lattice sends the method for HTTP and HTTPS requests, the only ones it passes on.
        let method = self.method.ok_or_else(|| {
            Error::new(
                crate::error::error_type::UNMARSHAL,
                "the VPC Lattice event has no `method`: only HTTP and HTTPS requests can be \
                 served",
            )
        })?;
        // The path carries the query as sent: the path before the `?`, the query after it
        // (or, without one, the query built from the parameters).
        let path = self.path.unwrap_or_else(|| "/".into());
        let (path, raw_query) = match path.split_once('?') {
            Some((path, raw_query)) => (
                path.to_owned(),
                utf8_percent_encode(raw_query, NEVER_IN_URI).to_string(),
            ),
            None => {
                let raw_query = join_query(&self.query, true);
                (path, raw_query)
            }
        };
        Ok(Parts {
            method,
            path,
            path_form: PathForm::AsSent,
            raw_query,
            headers: self.headers,
            cookies: Vec::new(),
            body: self.body.text,
            base64: self.body.base64,
            query: self.query,
            path_parameters: HashMap::new(),
            stage_variables: HashMap::new(),
            context,
            multi_value: false,
        })
    }
}

/// What every integration's event boils down to.
struct Parts {
    method: Method,
    path: String,
    path_form: PathForm,
    raw_query: String,
    headers: HeaderMap,
    cookies: Vec<String>,
    body: Option<String>,
    base64: bool,
    query: QueryMap,
    path_parameters: HashMap<String, String>,
    stage_variables: HashMap<String, String>,
    context: RequestContext,
    multi_value: bool,
}

impl Parts {
    fn build(self, source: Source, context: Context) -> Result<Request<Full<Bytes>>, Error> {
        let body = match (self.body, self.base64) {
            (None, _) => Bytes::new(),
            (Some(text), false) => Bytes::from(text),
            (Some(encoded), true) => base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map(Bytes::from)
                .map_err(|error| {
                    Error::new(
                        crate::error::error_type::UNMARSHAL,
                        format!(
                            "the request body is marked isBase64Encoded but is not base64: {error}"
                        ),
                    )
                })?,
        };
        // Integrations always send an absolute path. One without the leading `/` would
        // parse as an authority or a full URL (`http://other.host/x`), giving the handler
        // a request for another host; as a path it is only a path.
        let slash = if self.path.starts_with('/') { "" } else { "/" };
        // A decoded path is not a URI path (`/files/my doc.pdf`, `/a%b`, `/q?x` with the
        // `?` inside a segment): it is encoded again, so that the handler sees the path as
        // the client sent it, and decoding it gives back the integration's path.
        let path = match self.path_form {
            PathForm::Decoded => utf8_percent_encode(&self.path, DECODED_PATH_SAFE),
            PathForm::AsSent => utf8_percent_encode(&self.path, NEVER_IN_PATH),
        };
        let uri = if self.raw_query.is_empty() {
            format!("{slash}{path}")
        } else {
            format!("{slash}{path}?{}", self.raw_query)
        };
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method;
        *request.uri_mut() = uri.parse().map_err(|error| {
            Error::new(
                crate::error::error_type::UNMARSHAL,
                format!("the request path {uri:?} is not a valid URI: {error}"),
            )
        })?;
        *request.headers_mut() = self.headers;
        if !self.cookies.is_empty() {
            // Payload format 2.0 moves cookies out of the headers; put them back.
            if let Ok(cookie) = HeaderValue::from_str(&self.cookies.join("; ")) {
                request.headers_mut().insert(http::header::COOKIE, cookie);
            }
        }
        let extensions = request.extensions_mut();
        extensions.insert(source);
        extensions.insert(self.context);
        extensions.insert(PathParameters(self.path_parameters));
        extensions.insert(StageVariables(self.stage_variables));
        extensions.insert(QueryStringParameters(self.query));
        extensions.insert(RawQueryString(self.raw_query));
        extensions.insert(context);
        Ok(request)
    }
}

/// The query string for a query map: names sorted (the event's JSON object kept no order),
/// each name's values in their order, percent-encoded when the map holds decoded values.
fn join_query(query: &QueryMap, encode: bool) -> String {
    let mut pairs: Vec<(&str, &str)> = query.iter().collect();
    pairs.sort_by_key(|(key, _)| *key);
    pairs
        .into_iter()
        .map(|(key, value)| match encode {
            true => format!(
                "{}={}",
                utf8_percent_encode(key, QUERY_SAFE),
                utf8_percent_encode(value, QUERY_SAFE)
            ),
            false => format!(
                "{}={}",
                utf8_percent_encode(key, NEVER_IN_URI),
                utf8_percent_encode(value, NEVER_IN_URI)
            ),
        })
        .collect::<Vec<_>>()
        .join("&")
}
