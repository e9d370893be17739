//! The client side of the Extensions API (`/2020-01-01/extension/`) and of the Telemetry
//! API's subscription, on the same hand-written HTTP/1.1 client as the Runtime API.
//!
//! Two users: the runtime, which registers an internal extension so that Lambda sends it
//! SIGTERM before shutdown (`shutdown.rs`), and `lambda_kit::extension`, where users write
//! extensions of their own. Both are addressed at the root of the Runtime API's authority,
//! whatever path prefix `AWS_LAMBDA_RUNTIME_API` carries: that is where Lambda, AWS's
//! emulator and cargo-lambda serve them.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};

use super::backoff::Backoff;
use super::endpoint::Endpoint;
use super::wire::{Answer, Connection, RequestHead};
use crate::error::ErrorBody;
use crate::protocol::{
    EXTENSION_EXIT_ERROR_PATH, EXTENSION_INIT_ERROR_PATH, EXTENSION_NEXT_PATH,
    EXTENSION_REGISTER_PATH, TELEMETRY_PATH, extension_header,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

static NAME: HeaderName = HeaderName::from_static(extension_header::NAME);
static IDENTIFIER: HeaderName = HeaderName::from_static(extension_header::IDENTIFIER);
static ACCEPT_FEATURE: HeaderName = HeaderName::from_static(extension_header::ACCEPT_FEATURE);
#[cfg_attr(not(feature = "extension"), allow(dead_code))]
static ERROR_TYPE: HeaderName = HeaderName::from_static(extension_header::FUNCTION_ERROR_TYPE);
static CONTENT_TYPE: HeaderName = http::header::CONTENT_TYPE;
static JSON: HeaderValue = HeaderValue::from_static("application/json");
static ACCOUNT_ID: HeaderValue = HeaderValue::from_static("accountId");

/// A call to the Extensions or Telemetry API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionApiError {
    /// The API could not be reached, even after reconnecting with backoff.
    #[error(
        "the Extensions API at {authority} could not be reached after {attempts} attempts: {source}"
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
    /// The API answered with a status that is not success.
    #[error("the Extensions API answered {method} {path} with {status}: {body}")]
    Refused {
        /// The method of the call.
        method: Method,
        /// The path of the call.
        path: &'static str,
        /// What the API answered.
        status: StatusCode,
        /// What it said (Lambda's error JSON, usually with an `errorType`).
        body: String,
    },
    /// Register answered without a usable `Lambda-Extension-Identifier` header.
    #[error(
        "the Extensions API registered the extension but sent no usable Lambda-Extension-Identifier header"
    )]
    MissingIdentifier,
    /// A call that needs the identifier was made before registering.
    #[error("the extension is not registered yet: call register first")]
    NotRegistered,
    /// The name is not something a header can carry.
    #[error("the extension name {name:?} cannot be sent as a header (printable ASCII only)")]
    InvalidName {
        /// The name asked for.
        name: String,
    },
}

/// A client for one extension: its identifier once registered, and one keep-alive
/// connection (the `event/next` call blocks, so each extension has its own).
pub(crate) struct ExtensionsClient {
    authority: String,
    connection: Option<Connection>,
    identifier: Option<HeaderValue>,
}

impl std::fmt::Debug for ExtensionsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionsClient")
            .field("authority", &self.authority)
            .field("registered", &self.identifier.is_some())
            .finish_non_exhaustive()
    }
}

/// One call, kept as parts so that it can be sent again after a reconnect.
struct Call<'a> {
    method: Method,
    path: &'static str,
    headers: Vec<(&'a HeaderName, &'a HeaderValue)>,
    body: Bytes,
}

#[cfg_attr(not(feature = "extension"), allow(dead_code))]
impl ExtensionsClient {
    /// A client for the Extensions API at `endpoint`'s authority.
    pub(crate) fn new(endpoint: &Endpoint) -> Self {
        ExtensionsClient {
            authority: endpoint.authority().to_owned(),
            connection: None,
            identifier: None,
        }
    }

    /// `POST /extension/register` as `name` for `events` (`INVOKE`, `SHUTDOWN`); asks for
    /// the account id too when `account_id` is set.
    pub(crate) async fn register(
        &mut self,
        name: &str,
        events: &[&str],
        account_id: bool,
    ) -> Result<(), ExtensionApiError> {
        let name_value =
            HeaderValue::from_str(name).map_err(|_| ExtensionApiError::InvalidName {
                name: name.to_owned(),
            })?;
        let body = serde_json::to_vec(&serde_json::json!({ "events": events }))
            .map(Bytes::from)
            .unwrap_or_default();
        let mut headers = vec![(&CONTENT_TYPE, &JSON), (&NAME, &name_value)];
        if account_id {
            headers.push((&ACCEPT_FEATURE, &ACCOUNT_ID));
        }
        let call = Call {
            method: Method::POST,
            path: EXTENSION_REGISTER_PATH,
            headers,
            body,
        };
        let answer = self.send(&call).await?;
        let identifier = answer
            .headers
            .get(extension_header::IDENTIFIER)
            .and_then(|id| HeaderValue::from_bytes(id).ok())
            .filter(|id| !id.is_empty())
            .ok_or(ExtensionApiError::MissingIdentifier)?;
        self.identifier = Some(identifier);
        Ok(())
    }

    /// `GET /extension/event/next`: waits, without a timeout, for the next event; returns
    /// its JSON.
    pub(crate) async fn next_event(&mut self) -> Result<Bytes, ExtensionApiError> {
        let identifier = self
            .identifier
            .clone()
            .ok_or(ExtensionApiError::NotRegistered)?;
        let call = Call {
            method: Method::GET,
            path: EXTENSION_NEXT_PATH,
            headers: vec![(&IDENTIFIER, &identifier)],
            body: Bytes::new(),
        };
        Ok(self.send(&call).await?.body)
    }

    /// `POST /extension/init/error`: the extension could not start.
    pub(crate) async fn init_error(&mut self, error: &ErrorBody) -> Result<(), ExtensionApiError> {
        self.post_error(EXTENSION_INIT_ERROR_PATH, error).await
    }

    /// `POST /extension/exit/error`: the extension is about to exit because of `error`.
    pub(crate) async fn exit_error(&mut self, error: &ErrorBody) -> Result<(), ExtensionApiError> {
        self.post_error(EXTENSION_EXIT_ERROR_PATH, error).await
    }

    async fn post_error(
        &mut self,
        path: &'static str,
        error: &ErrorBody,
    ) -> Result<(), ExtensionApiError> {
        let identifier = self
            .identifier
            .clone()
            .ok_or(ExtensionApiError::NotRegistered)?;
        // Sanitized to printable ASCII when the error was made, so this does not fail; a
        // generic type is still better than no report.
        let error_type = HeaderValue::from_str(&error.error_type)
            .unwrap_or_else(|_| HeaderValue::from_static("Extension.Error"));
        let call = Call {
            method: Method::POST,
            path,
            headers: vec![
                (&CONTENT_TYPE, &JSON),
                (&IDENTIFIER, &identifier),
                (&ERROR_TYPE, &error_type),
            ],
            body: serde_json::to_vec(error)
                .map(Bytes::from)
                .unwrap_or_default(),
        };
        self.send(&call).await.map(drop)
    }

    /// `PUT /2022-07-01/telemetry` with a subscription request. The answer comes back
    /// whatever its status: emulators that do not serve the Telemetry API answer `202`
    /// with `Telemetry.NotSupported`, which is for the caller to judge.
    pub(crate) async fn subscribe_telemetry(
        &mut self,
        request: Bytes,
    ) -> Result<(StatusCode, Bytes), ExtensionApiError> {
        let identifier = self
            .identifier
            .clone()
            .ok_or(ExtensionApiError::NotRegistered)?;
        let call = Call {
            method: Method::PUT,
            path: TELEMETRY_PATH,
            headers: vec![(&CONTENT_TYPE, &JSON), (&IDENTIFIER, &identifier)],
            body: request,
        };
        match self.send(&call).await {
            Ok(answer) => Ok((answer.status, answer.body)),
            Err(ExtensionApiError::Refused { status, body, .. }) => Ok((status, body.into())),
            Err(other) => Err(other),
        }
    }

    /// Sends `call`, reconnecting with backoff when the transport fails; an answer that is
    /// not success is an error.
    async fn send(&mut self, call: &Call<'_>) -> Result<Answer, ExtensionApiError> {
        let mut backoff = Backoff::default();
        loop {
            match self.try_send(call).await {
                Ok(answer) if answer.status.is_success() => return Ok(answer),
                Ok(answer) => {
                    return Err(ExtensionApiError::Refused {
                        method: call.method.clone(),
                        path: call.path,
                        status: answer.status,
                        body: String::from_utf8_lossy(&answer.body).into_owned(),
                    });
                }
                Err(source) => {
                    self.connection = None;
                    let Some(delay) = backoff.next_delay() else {
                        return Err(ExtensionApiError::Unreachable {
                            authority: self.authority.clone(),
                            attempts: backoff.failures(),
                            source,
                        });
                    };
                    tracing::debug!(error = %source, path = call.path, "Extensions API call failed; reconnecting");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn try_send(&mut self, call: &Call<'_>) -> Result<Answer, BoxError> {
        let reusable = self
            .connection
            .as_ref()
            .is_some_and(|open| open.idle_state() == super::wire::Idle::Quiet);
        if !reusable {
            self.connection = Some(Box::pin(Connection::open(&self.authority)).await?);
        }
        let connection = self
            .connection
            .as_mut()
            .ok_or("no connection to the Extensions API")?;
        let head = RequestHead {
            method: &call.method,
            path: &[call.path],
            headers: &call.headers,
        };
        Ok(connection.exchange(&head, &call.body).await?)
    }
}
