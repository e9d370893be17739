//! Streamed responses: the body is posted as HTTP/1 chunks while the handler produces it.
//!
//! A handler returns a [`StreamResponse`] (raw bytes, any content type) or an
//! [`HttpStreamResponse`] (a function URL's status, headers and cookies, then the body)
//! instead of a serializable value. The runtime posts it with
//! `Lambda-Runtime-Function-Response-Mode: streaming` and chunked transfer encoding. A stream
//! that fails part way ends with real HTTP trailers, declared up front:
//! `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body` (the error
//! JSON, base64-encoded). Before the first chunk a failure is an ordinary error post.
//!
//! ```
//! use bytes::Bytes;
//! use lambda_kit::streaming::StreamResponse;
//! use lambda_kit::{Context, Error};
//!
//! async fn lines(_event: serde_json::Value, _ctx: Context) -> Result<StreamResponse, Error> {
//!     let chunks = (1..=3).map(|n| Ok::<_, Error>(Bytes::from(format!("line {n}\n"))));
//!     Ok(StreamResponse::new("text/plain", futures_util::stream::iter(chunks)))
//! }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, HeaderValue};
use serde::Serialize;

use crate::error::Error;
use crate::protocol::header;
use crate::response::{ByteStream, FunctionResponse, IntoFunctionResponse, Streamed};

/// The content type of a function URL's streamed HTTP response.
pub const HTTP_INTEGRATION_CONTENT_TYPE: &str =
    "application/vnd.awslambda.http-integration-response";
/// Separates the HTTP prelude from the body.
const PRELUDE_SEPARATOR: [u8; 8] = [0; 8];

/// A raw streamed response.
pub struct StreamResponse {
    content_type: String,
    body: ByteStream,
}

impl std::fmt::Debug for StreamResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResponse")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl StreamResponse {
    /// Streams `body` with this content type.
    pub fn new<S, E>(content_type: impl Into<String>, body: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Error>,
    {
        use futures_util::StreamExt as _;
        StreamResponse {
            content_type: content_type.into(),
            body: Box::pin(body.map(|chunk| chunk.map_err(Into::into))),
        }
    }
}

impl IntoFunctionResponse for StreamResponse {
    fn into_function_response(self) -> Result<FunctionResponse, Error> {
        let content_type = HeaderValue::from_str(&self.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        Ok(FunctionResponse::Streamed(Streamed {
            content_type,
            preamble: Vec::new(),
            body: self.body,
        }))
    }
}

/// A streamed HTTP response for a function URL (`InvokeMode: RESPONSE_STREAM`) or an API
/// Gateway REST API whose integration streams (`responseTransferMode: STREAM`): status,
/// headers and cookies go first as a JSON prelude, then the body.
pub struct HttpStreamResponse {
    status: u16,
    /// Every value of each header, in the order added (`Set-Cookie` excepted).
    headers: BTreeMap<String, Vec<String>>,
    /// Whether repeated headers go in `multiValueHeaders` (REST APIs) rather than joined
    /// with `,` (function URLs, whose prelude has no such key).
    multi_value: bool,
    cookies: Vec<String>,
    body: ByteStream,
}

impl std::fmt::Debug for HttpStreamResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStreamResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}

/// The prelude's JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Prelude<'a> {
    status_code: u16,
    headers: BTreeMap<&'a str, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    multi_value_headers: BTreeMap<&'a str, &'a [String]>,
    cookies: &'a [String],
}

impl HttpStreamResponse {
    /// Streams `body` with status 200 and no headers yet.
    pub fn new<S, E>(body: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Error>,
    {
        let StreamResponse { body, .. } = StreamResponse::new("", body);
        HttpStreamResponse {
            status: 200,
            headers: BTreeMap::new(),
            multi_value: false,
            cookies: Vec::new(),
            body,
        }
    }

    /// Sets the status code.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header (a `Set-Cookie` header goes to the cookies, as function URLs expect).
    /// A name added again keeps both values.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("set-cookie") {
            self.cookies.push(value.to_owned());
        } else {
            self.headers
                .entry(name.to_ascii_lowercase())
                .or_default()
                .push(value.to_owned());
        }
        self
    }

    /// Sends headers with several values as the prelude's `multiValueHeaders`, which API
    /// Gateway REST APIs read; without it they are joined with `,`, as function URLs need.
    pub fn multi_value_headers(mut self) -> Self {
        self.multi_value = true;
        self
    }

    fn prelude(&self) -> Prelude<'_> {
        let mut headers = BTreeMap::new();
        let mut multi_value_headers = BTreeMap::new();
        for (name, values) in &self.headers {
            if self.multi_value && values.len() > 1 {
                multi_value_headers.insert(name.as_str(), values.as_slice());
            } else {
                headers.insert(name.as_str(), values.join(","));
            }
        }
        Prelude {
            status_code: self.status,
            headers,
            multi_value_headers,
            // Always present: local emulators require the key even when it is empty.
            cookies: &self.cookies,
        }
    }
}

impl IntoFunctionResponse for HttpStreamResponse {
    fn into_function_response(self) -> Result<FunctionResponse, Error> {
        let prelude = serde_json::to_vec(&self.prelude())
            .map_err(|error| Error::new(crate::error::error_type::MARSHAL, error.to_string()))?;
        Ok(FunctionResponse::Streamed(Streamed {
            content_type: HeaderValue::from_static(HTTP_INTEGRATION_CONTENT_TYPE),
            // The prelude and the separator are chunks of their own: cargo-lambda's emulator
            // reads them that way, and it costs nothing in Lambda.
            preamble: vec![Bytes::from(prelude), Bytes::from_static(&PRELUDE_SEPARATOR)],
            body: self.body,
        }))
    }
}

/// One piece of a streamed post's body, as the client writes it.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A chunk of the body (never empty: an empty chunk ends a chunked body).
    Data(Bytes),
    /// The trailers that end a body that failed part way.
    Trailers(HeaderMap),
}

/// The frames of a streamed post: the preamble, the body's chunks, and error trailers if
/// the body fails.
pub(crate) struct StreamFrames {
    preamble: VecDeque<Bytes>,
    body: ByteStream,
    span: tracing::Span,
    finished: bool,
}

impl StreamFrames {
    pub(crate) fn new(streamed: Streamed, span: tracing::Span) -> (HeaderValue, Self) {
        let frames = StreamFrames {
            preamble: streamed.preamble.into(),
            body: streamed.body,
            span,
            finished: false,
        };
        (streamed.content_type, frames)
    }
}

impl Stream for StreamFrames {
    type Item = Frame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        if let Some(chunk) = self.preamble.pop_front() {
            return Poll::Ready(Some(Frame::Data(chunk)));
        }
        loop {
            return match self.body.as_mut().poll_next(cx) {
                Poll::Pending => Poll::Pending,
                // An empty chunk would read as the end of a chunked body; skip it.
                Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => continue,
                Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Frame::Data(chunk))),
                Poll::Ready(Some(Err(error))) => {
                    self.finished = true;
                    self.span.in_scope(|| crate::telemetry::log_failure(&error));
                    Poll::Ready(Some(Frame::Trailers(error_trailers(&error))))
                }
                Poll::Ready(None) => {
                    self.finished = true;
                    Poll::Ready(None)
                }
            };
        }
    }
}

/// `Lambda-Runtime-Function-Error-Type` and `-Body` (base64 of the error JSON).
fn error_trailers(error: &Error) -> HeaderMap {
    let body = serde_json::to_vec(&error.to_body()).unwrap_or_default();
    error_trailers_of(Some(error.error_type()), &body)
}

/// The error trailers for an `errorType` (left out when unknown) and the error JSON `body`:
/// what the runtime ends a failed stream with, and what the `--serve` emulator passes on.
pub(crate) fn error_trailers_of(error_type: Option<&str>, body: &[u8]) -> HeaderMap {
    let mut trailers = HeaderMap::with_capacity(2);
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    if let Some(value) = error_type.and_then(|error_type| HeaderValue::from_str(error_type).ok()) {
        trailers.insert(header::FUNCTION_ERROR_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&encoded) {
        trailers.insert(header::FUNCTION_ERROR_BODY, value);
    }
    trailers
}
