//! The HTTP/1 client to the Runtime API: one keep-alive connection, re-established with
//! bounded backoff when it drops, and no timeout on any call (the environment may be
//! frozen for minutes while a `/next` is outstanding).

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::backoff::Backoff;
use super::endpoint::Endpoint;
use super::invocation::header;
use super::streaming::{StreamFrames, Streamed};
use crate::error::ErrorBody;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A request body: whole (every call but one), or streamed (a streamed response).
type OutgoingBody = Either<Full<Bytes>, StreamBody<StreamFrames>>;

/// The trailers a streamed response declares up front, as HTTP/1.1 requires.
const DECLARED_TRAILERS: &str =
    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body";

/// `User-Agent`: Lambda reads its first token as the runtime's name and release.
const USER_AGENT_VALUE: &str = concat!("lambda-kit/", env!("CARGO_PKG_VERSION"));

/// A call to the Runtime API failed in a way the runtime cannot recover from.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API could not be reached, even after reconnecting with backoff.
    #[error(
        "the Runtime API at {authority} could not be reached after {attempts} attempts: {source}"
    )]
    Unreachable {
        /// The `host:port` tried.
        authority: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: BoxError,
    },
    /// The API answered 500: Lambda documents this as a broken execution environment.
    #[error(
        "the Runtime API answered {method} {path} with 500, so the execution environment is broken; exiting: {body}"
    )]
    ContainerError {
        /// The method of the failed call.
        method: Method,
        /// The path of the failed call.
        path: String,
        /// What the API said.
        body: String,
    },
    /// A streamed response could not be sent to the end.
    #[error("sending a streamed response failed part way: {source}")]
    StreamInterrupted {
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// `/next` kept answering without an invocation.
    #[error(
        "the Runtime API answered /next with {status} {attempts} times in a row; exiting: {body}"
    )]
    NextRefused {
        /// The last status.
        status: StatusCode,
        /// The last body.
        body: String,
        /// How many polls were refused in a row.
        attempts: u32,
    },
}

/// One request, kept as parts so that it can be sent again after a reconnect.
struct ApiRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// A client for the Runtime API at one endpoint.
pub(crate) struct ApiClient {
    endpoint: Endpoint,
    host: HeaderValue,
    connection: Option<ApiConnection>,
}

/// One keep-alive connection, driven by the task that sends on it. A spawned connection
/// task would cost a wake-up and a hop between tasks on every call.
struct ApiConnection {
    sender: SendRequest<OutgoingBody>,
    driver: Pin<Box<http1::Connection<TokioIo<TcpStream>, OutgoingBody>>>,
    /// The driver finished: the peer closed the connection, or it failed.
    finished: bool,
}

impl ApiConnection {
    fn is_closed(&self) -> bool {
        self.finished || self.sender.is_closed()
    }

    /// Sends `request` and reads the whole response, driving the connection meanwhile.
    async fn exchange(
        &mut self,
        request: Request<OutgoingBody>,
    ) -> Result<Response<Bytes>, BoxError> {
        let sender = &mut self.sender;
        let exchange = async move {
            sender.ready().await?;
            let (parts, body) = sender.send_request(request).await?.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, BoxError>(Response::from_parts(parts, body))
        };
        let mut exchange = std::pin::pin!(exchange);
        let (driver, finished) = (&mut self.driver, &mut self.finished);
        std::future::poll_fn(|cx| {
            // The driver first: it writes what the exchange queued on its last poll and
            // reads what answers it, so one poll of each usually completes a step.
            if !*finished {
                if let Poll::Ready(result) = driver.as_mut().poll(cx) {
                    *finished = true;
                    if let Err(error) = result {
                        tracing::debug!(%error, "Runtime API connection closed");
                    }
                }
            }
            match exchange.as_mut().poll(cx) {
                Poll::Ready(outcome) => Poll::Ready(outcome),
                Poll::Pending if *finished => {
                    Poll::Ready(Err("the Runtime API connection is closed".into()))
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

impl ApiClient {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        // `Endpoint::parse` only accepts a valid authority, which is a valid header value.
        let host = HeaderValue::from_str(endpoint.authority())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        ApiClient {
            endpoint,
            host,
            connection: None,
        }
    }

    /// `GET /runtime/invocation/next`: waits, without a timeout, for the next event.
    pub(crate) async fn next(&mut self) -> Result<Response<Bytes>, ApiError> {
        let request = ApiRequest {
            method: Method::GET,
            uri: self.endpoint.next(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        self.send(&request).await
    }

    /// `POST /runtime/invocation/{id}/response` with the encoded response.
    pub(crate) async fn post_response(
        &mut self,
        request_id: &str,
        invocation_id: Option<&str>,
        body: Bytes,
    ) -> Result<Response<Bytes>, ApiError> {
        let request = ApiRequest {
            method: Method::POST,
            uri: self.endpoint.response(request_id),
            headers: answer_headers(invocation_id, None),
            body,
        };
        self.send(&request).await
    }

    /// `POST /runtime/invocation/{id}/response` in streaming mode: the body is sent as it is
    /// produced. A stream cannot be sent twice, so there is one attempt (after a reconnect
    /// if the connection had dropped); a failure is returned for the caller to log.
    pub(crate) async fn post_streaming(
        &mut self,
        request_id: &str,
        invocation_id: Option<&str>,
        streamed: Streamed,
        span: tracing::Span,
    ) -> Result<Response<Bytes>, ApiError> {
        let (content_type, frames) = StreamFrames::new(streamed, span);
        let mut request = Request::new(Either::Right(StreamBody::new(frames)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.endpoint.response(request_id);
        let mut headers = answer_headers(invocation_id, None);
        headers.insert(CONTENT_TYPE, content_type);
        headers.insert(header::RESPONSE_MODE, HeaderValue::from_static("streaming"));
        headers.insert(
            http::header::TRAILER,
            HeaderValue::from_static(DECLARED_TRAILERS),
        );
        headers.insert(HOST, self.host.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        *request.headers_mut() = headers;
        let path = request.uri().path().to_owned();
        let outcome = async { self.connection().await?.exchange(request).await }.await;
        match outcome {
            Ok(response) if response.status() == StatusCode::INTERNAL_SERVER_ERROR => {
                Err(ApiError::ContainerError {
                    method: Method::POST,
                    path,
                    body: String::from_utf8_lossy(response.body()).into_owned(),
                })
            }
            Ok(response) => Ok(response),
            Err(source) => {
                self.connection = None;
                Err(ApiError::StreamInterrupted { source })
            }
        }
    }

    /// `POST /runtime/invocation/{id}/error` with a Lambda error body.
    pub(crate) async fn post_error(
        &mut self,
        request_id: &str,
        invocation_id: Option<&str>,
        error: &ErrorBody,
    ) -> Result<Response<Bytes>, ApiError> {
        let request = ApiRequest {
            method: Method::POST,
            uri: self.endpoint.error(request_id),
            headers: answer_headers(invocation_id, Some(&error.error_type)),
            body: encode_error(error),
        };
        self.send(&request).await
    }

    /// `POST /runtime/init/error`: initialization failed and the process is about to exit.
    pub(crate) async fn post_init_error(
        &mut self,
        error: &ErrorBody,
    ) -> Result<Response<Bytes>, ApiError> {
        let request = ApiRequest {
            method: Method::POST,
            uri: self.endpoint.init_error(),
            headers: answer_headers(None, Some(&error.error_type)),
            body: encode_error(error),
        };
        self.send(&request).await
    }

    /// Sends `request`, reconnecting and resending on transport failures.
    ///
    /// Resending a post whose first copy did arrive is harmless: the API answers the
    /// duplicate with 400, which the caller logs.
    async fn send(&mut self, request: &ApiRequest) -> Result<Response<Bytes>, ApiError> {
        let mut backoff = Backoff::default();
        loop {
            match self.try_send(request).await {
                Ok(response) if response.status() == StatusCode::INTERNAL_SERVER_ERROR => {
                    return Err(ApiError::ContainerError {
                        method: request.method.clone(),
                        path: request.uri.path().to_owned(),
                        body: String::from_utf8_lossy(response.body()).into_owned(),
                    });
                }
                Ok(response) => return Ok(response),
                Err(source) => {
                    self.connection = None;
                    let Some(delay) = backoff.next_delay() else {
                        return Err(ApiError::Unreachable {
                            authority: self.endpoint.authority().to_owned(),
                            attempts: backoff.failures(),
                            source,
                        });
                    };
                    tracing::warn!(
                        error = %source,
                        path = request.uri.path(),
                        retry_in_ms = delay.as_millis() as u64,
                        "Runtime API call failed; reconnecting"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn try_send(&mut self, request: &ApiRequest) -> Result<Response<Bytes>, BoxError> {
        let host = self.host.clone();
        let mut outgoing = Request::new(Either::Left(Full::new(request.body.clone())));
        *outgoing.method_mut() = request.method.clone();
        *outgoing.uri_mut() = request.uri.clone();
        let headers = outgoing.headers_mut();
        headers.clone_from(&request.headers);
        headers.insert(HOST, host);
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        self.connection().await?.exchange(outgoing).await
    }

    /// The open connection, or a new one if there is none or the peer closed it.
    async fn connection(&mut self) -> Result<&mut ApiConnection, BoxError> {
        if self
            .connection
            .as_ref()
            .is_some_and(ApiConnection::is_closed)
        {
            self.connection = None;
        }
        match &mut self.connection {
            Some(sender) => Ok(sender),
            slot @ None => {
                let stream = TcpStream::connect(self.endpoint.authority()).await?;
                stream.set_nodelay(true)?;
                let (sender, driver) = http1::handshake(TokioIo::new(stream)).await?;
                Ok(slot.insert(ApiConnection {
                    sender,
                    driver: Box::pin(driver),
                    finished: false,
                }))
            }
        }
    }
}

fn answer_headers(invocation_id: Option<&str>, error_type: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(3);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Both values were header values when they arrived (the invocation id) or were
    // sanitized to printable ASCII (the error type), so conversion cannot fail; skipping
    // the header is still better than panicking if it ever did.
    if let Some(value) = invocation_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(header::INVOCATION_ID, value);
    }
    if let Some(value) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(header::FUNCTION_ERROR_TYPE, value);
    }
    headers
}

fn encode_error(error: &ErrorBody) -> Bytes {
    // Serializing a struct of strings cannot fail.
    serde_json::to_vec(error)
        .map(Bytes::from)
        .unwrap_or_default()
}
