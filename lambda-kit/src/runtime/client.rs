//! The HTTP/1 client to the Runtime API: one keep-alive connection, re-established with
//! bounded backoff when it drops, and no timeout on any call (the environment may be
//! frozen for minutes while a `/next` is outstanding).

use std::convert::Infallible;
use std::error::Error as StdError;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, TRAILER};
use http::{HeaderName, HeaderValue, Method, StatusCode};

use super::backoff::Backoff;
use super::endpoint::{AnswerPath, Endpoint};
use super::invocation::{UnreadableInvocation, name, unreadable_invocation};
use super::wire::{Answer, Connection, Idle, RequestHead};
use crate::error::ErrorBody;
use crate::response::Streamed;
use crate::streaming::StreamFrames;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The trailers a streamed response declares up front, as HTTP/1.1 requires.
static DECLARED_TRAILERS: HeaderValue = HeaderValue::from_static(
    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
);

static JSON: HeaderValue = HeaderValue::from_static("application/json");
static STREAMING: HeaderValue = HeaderValue::from_static("streaming");
// Statics, not the crates' constants, so that requests can borrow them for as long as needed.
static CONTENT_TYPE_NAME: HeaderName = CONTENT_TYPE;
static TRAILER_NAME: HeaderName = TRAILER;
static INVOCATION_ID_NAME: HeaderName = name::INVOCATION_ID;
static ERROR_TYPE_NAME: HeaderName = name::FUNCTION_ERROR_TYPE;
static RESPONSE_MODE_NAME: HeaderName = name::RESPONSE_MODE;

/// A call to the Runtime API failed in a way the runtime cannot recover from.
#[derive(thiserror::Error)]
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

/// The `Display` text, which names every field already. Every bootstrap links this impl
/// (an `ApiError` ends up as the source of a returned [`Error`](crate::Error)); a derived
/// one added 4 KiB of formatting code to each of them.
impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiError({self})")
    }
}

/// One request, kept as parts so that it can be sent again after a reconnect.
struct ApiRequest<'a> {
    method: Method,
    /// The path in pieces, as [`RequestHead`] writes it.
    path: &'a [&'a str],
    /// `Lambda-Runtime-Aws-Invocation-Id`, echoed on answers when `/next` sent one.
    invocation_id: Option<HeaderValue>,
    /// `Lambda-Runtime-Function-Error-Type`, on error posts.
    error_type: Option<HeaderValue>,
    body: Bytes,
}

impl<'a> ApiRequest<'a> {
    /// A post of a JSON body.
    fn post(
        path: &'a [&'a str],
        invocation_id: Option<&str>,
        error_type: Option<&str>,
        body: Bytes,
    ) -> Self {
        // Both values were header values when they arrived (the invocation id) or were
        // sanitized to printable ASCII (the error type), so conversion cannot fail; skipping
        // the header is still better than panicking if it ever did.
        let value = |text: &str| HeaderValue::from_str(text).ok();
        ApiRequest {
            method: Method::POST,
            path,
            invocation_id: invocation_id.and_then(value),
            error_type: error_type.and_then(value),
            body,
        }
    }
}

/// A client for the Runtime API at one endpoint.
pub(crate) struct ApiClient {
    endpoint: Endpoint,
    connection: Option<Connection>,
}

impl ApiClient {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        ApiClient {
            endpoint,
            connection: None,
        }
    }

    /// `GET /runtime/invocation/next`: waits, without a timeout, for the next event.
    ///
    /// An answer that names its invocation but cannot be read to its end (cut short,
    /// malformed, too large) comes back as the inner `Err`, so that the invocation can
    /// still be answered; one that names none is dropped and the poll made again.
    pub(crate) async fn next(&mut self) -> Result<Result<Answer, UnreadableInvocation>, ApiError> {
        let request = ApiRequest {
            method: Method::GET,
            path: &[self.endpoint.next()],
            invocation_id: None,
            error_type: None,
            body: Bytes::new(),
        };
        send(
            &mut self.connection,
            &self.endpoint,
            &request,
            |head, failure| unreadable_invocation(head, failure),
        )
        .await
    }

    /// `POST /runtime/invocation/{id}/response` with the encoded response.
    pub(crate) async fn post_response(
        &mut self,
        path: &AnswerPath,
        invocation_id: Option<&str>,
        body: Bytes,
    ) -> Result<Answer, ApiError> {
        let path = path.response();
        let request = ApiRequest::post(&path, invocation_id, None, body);
        send_post(&mut self.connection, &self.endpoint, &request).await
    }

    /// `POST /runtime/invocation/{id}/response` in streaming mode: the body is sent as it is
    /// produced. A stream cannot be sent twice, so there is one attempt (after a reconnect
    /// if the connection had dropped); a failure is returned for the caller to log.
    pub(crate) async fn post_streaming(
        &mut self,
        path: &AnswerPath,
        invocation_id: Option<&str>,
        streamed: Streamed,
        span: tracing::Span,
    ) -> Result<Answer, ApiError> {
        let (content_type, frames) = StreamFrames::new(streamed, span);
        let path = path.response();
        let invocation_id = invocation_id.and_then(|id| HeaderValue::from_str(id).ok());
        let mut headers = vec![
            (&CONTENT_TYPE_NAME, &content_type),
            (&RESPONSE_MODE_NAME, &STREAMING),
            (&TRAILER_NAME, &DECLARED_TRAILERS),
        ];
        if let Some(id) = &invocation_id {
            headers.push((&INVOCATION_ID_NAME, id));
        }
        let head = RequestHead {
            method: &Method::POST,
            path: &path,
            headers: &headers,
        };
        let connection = match connection_to(&mut self.connection, &self.endpoint).await {
            Ok(connection) => connection,
            Err(source) => return Err(ApiError::StreamInterrupted { source }),
        };
        let outcome = connection
            .exchange_streamed(&head, frames)
            .await
            .map_err(BoxError::from);
        match outcome {
            Ok(response) if response.status == StatusCode::INTERNAL_SERVER_ERROR => {
                Err(ApiError::ContainerError {
                    method: Method::POST,
                    path: path.concat(),
                    body: String::from_utf8_lossy(&response.body).into_owned(),
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
        path: &AnswerPath,
        invocation_id: Option<&str>,
        error: &ErrorBody,
    ) -> Result<Answer, ApiError> {
        let path = path.error();
        let request = ApiRequest::post(
            &path,
            invocation_id,
            Some(&error.error_type),
            encode_error(error),
        );
        send_post(&mut self.connection, &self.endpoint, &request).await
    }

    /// Where the invocation `request_id` is answered.
    pub(crate) fn answer_path(&self, request_id: &str) -> AnswerPath {
        self.endpoint.answer_path(request_id.as_bytes())
    }

    /// Where the invocation whose request id is these raw bytes (not necessarily UTF-8)
    /// is answered.
    pub(crate) fn answer_path_of_raw_id(&self, request_id: &[u8]) -> AnswerPath {
        self.endpoint.answer_path(request_id)
    }

    /// `GET /runtime/restore/next`: waits until the SnapStart snapshot this environment
    /// was taken into has been restored.
    pub(crate) async fn restore_next(&mut self) -> Result<Answer, ApiError> {
        let path = self.endpoint.restore_next();
        let path = [path.as_str()];
        let request = ApiRequest {
            method: Method::GET,
            path: &path,
            invocation_id: None,
            error_type: None,
            body: Bytes::new(),
        };
        send_post(&mut self.connection, &self.endpoint, &request).await
    }

    /// `POST /runtime/restore/error`: an after-restore hook failed and the process is
    /// about to exit.
    pub(crate) async fn post_restore_error(
        &mut self,
        error: &ErrorBody,
    ) -> Result<Answer, ApiError> {
        let path = self.endpoint.restore_error();
        let path = [path.as_str()];
        let request = ApiRequest::post(
            &path,
            None,
            Some(crate::error::error_type::AFTER_RESTORE),
            encode_error(error),
        );
        send_post(&mut self.connection, &self.endpoint, &request).await
    }

    /// `POST /runtime/init/error`: initialization failed and the process is about to exit.
    pub(crate) async fn post_init_error(&mut self, error: &ErrorBody) -> Result<Answer, ApiError> {
        let path = self.endpoint.init_error();
        let path = [path.as_str()];
        let request = ApiRequest::post(&path, None, Some(&error.error_type), encode_error(error));
        send_post(&mut self.connection, &self.endpoint, &request).await
    }
}

/// [`send`] for a post: nothing is salvaged from an answer that cannot be read.
async fn send_post(
    slot: &mut Option<Connection>,
    endpoint: &Endpoint,
    request: &ApiRequest<'_>,
) -> Result<Answer, ApiError> {
    let Ok(answer) = send(slot, endpoint, request, |_, _| None::<Infallible>).await?;
    Ok(answer)
}

/// Sends `request` on the connection in `slot`, reconnecting and resending on transport
/// failures. (Free functions over the client's two parts, so that a request can borrow its
/// path from the endpoint.)
///
/// When an answer fails part way, `salvage` is shown what arrived of its head; what it
/// returns ends the exchange (as the inner `Err`) instead of a resend.
///
/// Resending a post whose first copy did arrive is harmless: the API answers the
/// duplicate with 400, which the caller logs. So is resending a post answered with a 5xx
/// other than 500 (a proxy's 502 or 503, say): once, on a fresh connection.
async fn send<T>(
    slot: &mut Option<Connection>,
    endpoint: &Endpoint,
    request: &ApiRequest<'_>,
    salvage: impl Fn(&[u8], &BoxError) -> Option<T>,
) -> Result<Result<Answer, T>, ApiError> {
    let mut backoff = Backoff::default();
    let mut resent_after_5xx = false;
    loop {
        match try_send(slot, endpoint, request).await {
            Ok(response) if response.status == StatusCode::INTERNAL_SERVER_ERROR => {
                return Err(ApiError::ContainerError {
                    method: request.method.clone(),
                    path: request.path.concat(),
                    body: String::from_utf8_lossy(&response.body).into_owned(),
                });
            }
            Ok(response)
                if response.status.is_server_error()
                    && request.method == Method::POST
                    && !resent_after_5xx =>
            {
                resent_after_5xx = true;
                *slot = None;
                tracing::warn!(
                    status = response.status.as_u16(),
                    body = %String::from_utf8_lossy(&response.body),
                    path = request.path.concat(),
                    "the Runtime API answered a post with a server error; sending it once more on a new connection"
                );
            }
            Ok(response) => return Ok(Ok(response)),
            Err(source) => {
                let salvaged = slot
                    .as_ref()
                    .and_then(Connection::failed_head)
                    .and_then(|head| salvage(head, &source));
                *slot = None;
                if let Some(salvaged) = salvaged {
                    return Ok(Err(salvaged));
                }
                let Some(delay) = backoff.next_delay() else {
                    return Err(ApiError::Unreachable {
                        authority: endpoint.authority().to_owned(),
                        attempts: backoff.failures(),
                        source,
                    });
                };
                tracing::warn!(
                    error = %source,
                    path = request.path.concat(),
                    retry_in_ms = delay.as_millis() as u64,
                    "Runtime API call failed; reconnecting"
                );
                Box::pin(tokio::time::sleep(delay)).await;
            }
        }
    }
}

async fn try_send(
    slot: &mut Option<Connection>,
    endpoint: &Endpoint,
    request: &ApiRequest<'_>,
) -> Result<Answer, BoxError> {
    let mut headers: [(&HeaderName, &HeaderValue); 3] = [(&CONTENT_TYPE_NAME, &JSON); 3];
    let mut count = usize::from(request.method == Method::POST);
    for (name, value) in [
        (&INVOCATION_ID_NAME, &request.invocation_id),
        (&ERROR_TYPE_NAME, &request.error_type),
    ] {
        if let Some(value) = value {
            headers[count] = (name, value);
            count += 1;
        }
    }
    let head = RequestHead {
        method: &request.method,
        path: request.path,
        headers: &headers[..count],
    };
    let connection = connection_to(slot, endpoint).await?;
    Ok(connection.exchange(&head, &request.body).await?)
}

/// The open connection in `slot`, or a new one if there is none or it cannot be reused.
async fn connection_to<'a>(
    slot: &'a mut Option<Connection>,
    endpoint: &Endpoint,
) -> Result<&'a mut Connection, BoxError> {
    match slot.as_ref().map(Connection::idle_state) {
        None | Some(Idle::Quiet) => {}
        Some(Idle::StrayBytes) => {
            tracing::warn!(
                "the Runtime API sent bytes that no request asked for; they are dropped with \
                 the connection, and a new one carries the next request"
            );
            *slot = None;
        }
        // A keep-alive connection the API closed while idle, or one spent by its last
        // answer: nothing to report.
        Some(Idle::Closed | Idle::Spent) => *slot = None,
    }
    match slot {
        Some(open) => Ok(open),
        // Boxed: connecting is rare, and its future is large; unboxed it would grow every
        // request's future, which each invocation moves.
        None => Ok(slot.insert(Box::pin(Connection::open(endpoint.authority())).await?)),
    }
}

fn encode_error(error: &ErrorBody) -> Bytes {
    // Serializing a struct of strings cannot fail.
    serde_json::to_vec(error)
        .map(Bytes::from)
        .unwrap_or_default()
}
