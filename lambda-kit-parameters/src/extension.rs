//! SSM parameters and secrets through the AWS Parameters and Secrets Lambda Extension: a
//! layer that serves them over HTTP on `localhost:2773` with its own cache, for functions
//! that already run it. No AWS SDK is built in.
//!
//! - `GET /systemsmanager/parameters/get?name=<name>[&withDecryption=true]` answers like
//!   SSM's `GetParameter`; `GET /secretsmanager/get?secretId=<id>[&versionStage=..]
//!   [&versionId=..]` like Secrets Manager's `GetSecretValue`.
//! - Every request carries `X-Aws-Parameters-Secrets-Token` with the value of
//!   `AWS_SESSION_TOKEN`.
//! - The port is `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` (default 2773). The extension
//!   answers during invocations, not during init: read in the handler (the cache here
//!   then keeps the value across invocations).
//! - It reads one value a call: several by name are fetched one after the other, and a
//!   read under a path is [`Unsupported`](crate::ParameterError::Unsupported).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::error::ParameterError;
use crate::parameters::Parameters;
use crate::provider::Provider;
use crate::request::{SecretRequest, SsmRequest};
use crate::settings::{self, SSM_DECRYPT_ENV};
use crate::value::Value;

/// The extension's port variable.
pub const PORT_ENV: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
/// The port when [`PORT_ENV`] is not set.
pub const DEFAULT_PORT: u16 = 2773;
/// The header that carries the session token.
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";
/// How long one call to the extension may take, connecting included, unless
/// [`ExtensionClient::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read (a secret is at most 64 KiB).
const MAX_ANSWER: usize = 1 << 20;

/// Characters escaped in a query value: all but unreserved ones.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// SSM parameters through the extension, with a shared cache.
pub type ExtensionSsm = Parameters<ExtensionSsmProvider>;
/// Secrets through the extension, with a shared cache.
pub type ExtensionSecrets = Parameters<ExtensionSecretsProvider>;

/// The HTTP connection details of the extension, shared by its SSM and secrets
/// providers.
#[derive(Debug)]
pub struct ExtensionClient {
    host: String,
    port: u16,
    token: String,
    timeout: Duration,
    round_trips: AtomicU64,
}

impl ExtensionClient {
    /// The extension at `localhost` on [`PORT_ENV`] (or [`DEFAULT_PORT`]), with the
    /// session token of `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<Self, ParameterError> {
        let port = match std::env::var(PORT_ENV) {
            Ok(value) => value
                .trim()
                .parse()
                .map_err(|_| ParameterError::ConfigInvalid {
                    variable: PORT_ENV,
                    value,
                    reason: "expected a port number",
                })?,
            Err(_) => DEFAULT_PORT,
        };
        let token = std::env::var("AWS_SESSION_TOKEN").unwrap_or_default();
        Ok(ExtensionClient::new("localhost", port, token))
    }

    /// The extension at `host:port`, sending `token`.
    pub fn new(host: impl Into<String>, port: u16, token: impl Into<String>) -> Self {
        ExtensionClient {
            host: host.into(),
            port,
            token: token.into(),
            timeout: DEFAULT_TIMEOUT,
            round_trips: AtomicU64::new(0),
        }
    }

    /// Bounds each call (connecting included).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The port the extension is reached on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many HTTP requests have been sent to the extension.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// One GET; the JSON answer, or the error its status means.
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
        path_and_query: &str,
    ) -> Result<T, ParameterError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let call = self.call(name, path_and_query);
        let (status, body) = match tokio::time::timeout(self.timeout, call).await {
            Ok(answer) => answer?,
            Err(elapsed) => {
                let message = format!("the extension did not answer within {:?}", self.timeout);
                return Err(ParameterError::unavailable(name, message, elapsed));
            }
        };
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|error| {
                ParameterError::transform(
                    name,
                    "the extension's JSON answer",
                    format!("line {} column {}", error.line(), error.column()),
                )
            });
        }
        Err(status_error(name, status, &body))
    }

    async fn call(
        &self,
        name: &str,
        path_and_query: &str,
    ) -> Result<(http::StatusCode, Bytes), ParameterError> {
        let unavailable = |what: &str, error: Box<dyn std::error::Error + Send + Sync>| {
            let message = format!(
                "{what} the extension at {}:{}: {error}",
                self.host, self.port
            );
            ParameterError::unavailable(name, message, error)
        };
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| unavailable("cannot connect to", error.into()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| unavailable("cannot talk to", error.into()))?;
        let driver = tokio::spawn(connection);
        let request = http::Request::get(path_and_query)
            .header(http::header::HOST, format!("{}:{}", self.host, self.port))
            .header(TOKEN_HEADER, &self.token)
            .body(Empty::<Bytes>::new())
            .map_err(|error| unavailable("cannot build a request for", error.into()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| unavailable("no answer from", error.into()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|error| unavailable("unreadable answer from", error))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    }
}

/// What an error status means. The extension passes on the service's error, whose body
/// names its code.
fn status_error(name: &str, status: http::StatusCode, body: &[u8]) -> ParameterError {
    let text = String::from_utf8_lossy(body);
    let mentions = |code: &str| text.contains(code);
    let name = name.to_owned();
    let message = format!("the extension answered {status}");
    if status == http::StatusCode::NOT_FOUND
        || mentions("ParameterNotFound")
        || mentions("ResourceNotFoundException")
    {
        ParameterError::NotFound { name }
    } else if status == http::StatusCode::UNAUTHORIZED
        || status == http::StatusCode::FORBIDDEN
        || mentions("AccessDenied")
    {
        ParameterError::AccessDenied { name, message }
    } else if status == http::StatusCode::TOO_MANY_REQUESTS || mentions("Throttling") {
        ParameterError::Throttled { name }
    } else if mentions("DecryptionFailure") || mentions("InvalidKeyId") {
        ParameterError::DecryptionFailed { name, message }
    } else if status.is_server_error() {
        ParameterError::Service {
            name,
            code: "InternalServerError".to_owned(),
            message,
        }
    } else {
        ParameterError::Service {
            name,
            code: status.as_u16().to_string(),
            message,
        }
    }
}

fn encode(value: &str) -> percent_encoding::PercentEncode<'_> {
    utf8_percent_encode(value, QUERY_VALUE)
}

/// Fetches SSM parameters from the extension; wrapped in [`ExtensionSsm`].
#[derive(Debug, Clone)]
pub struct ExtensionSsmProvider {
    client: Arc<ExtensionClient>,
    decrypt: bool,
}

impl ExtensionSsmProvider {
    /// Reads through `client`; `SecureString` values come back decrypted by default when
    /// [`SSM_DECRYPT_ENV`] is true.
    pub fn new(client: Arc<ExtensionClient>) -> Result<Self, ParameterError> {
        Ok(ExtensionSsmProvider {
            client,
            decrypt: settings::flag_from_env(SSM_DECRYPT_ENV, false)?,
        })
    }

    /// The client, for its request count.
    pub fn client(&self) -> &ExtensionClient {
        &self.client
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameterAnswer {
    parameter: ParameterAnswer,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParameterAnswer {
    value: String,
}

impl Provider for ExtensionSsmProvider {
    type Request = SsmRequest;
    const KIND: &'static str = "Parameters and Secrets extension";

    fn name(request: &SsmRequest) -> &str {
        &request.name
    }

    async fn fetch(&self, request: &SsmRequest) -> Result<Value, ParameterError> {
        let mut path = format!(
            "/systemsmanager/parameters/get?name={}",
            encode(&request.name)
        );
        if request.decrypt.unwrap_or(self.decrypt) {
            path.push_str("&withDecryption=true");
        }
        let answer: GetParameterAnswer = self.client.get(&request.name, &path).await?;
        Ok(Value::from(answer.parameter.value))
    }
}

/// Fetches secrets from the extension; wrapped in [`ExtensionSecrets`].
#[derive(Debug, Clone)]
pub struct ExtensionSecretsProvider {
    client: Arc<ExtensionClient>,
}

impl ExtensionSecretsProvider {
    /// Reads through `client`.
    pub fn new(client: Arc<ExtensionClient>) -> Self {
        ExtensionSecretsProvider { client }
    }

    /// The client, for its request count.
    pub fn client(&self) -> &ExtensionClient {
        &self.client
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretAnswer {
    secret_string: Option<String>,
    /// Base64, as in the service's JSON.
    secret_binary: Option<String>,
}

impl Provider for ExtensionSecretsProvider {
    type Request = SecretRequest;
    const KIND: &'static str = "Parameters and Secrets extension";

    fn name(request: &SecretRequest) -> &str {
        &request.id
    }

    async fn fetch(&self, request: &SecretRequest) -> Result<Value, ParameterError> {
        let mut path = format!("/secretsmanager/get?secretId={}", encode(&request.id));
        if let Some(stage) = &request.version_stage {
            path.push_str(&format!("&versionStage={}", encode(stage)));
        }
        if let Some(id) = &request.version_id {
            path.push_str(&format!("&versionId={}", encode(id)));
        }
        let answer: GetSecretAnswer = self.client.get(&request.id, &path).await?;
        if let Some(text) = answer.secret_string {
            return Ok(Value::from(text));
        }
        let Some(encoded) = answer.secret_binary else {
            return Err(ParameterError::NotFound {
                name: request.id.clone(),
            });
        };
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|bytes| Value::Binary(bytes.into()))
            .map_err(|_| {
                ParameterError::transform(&request.id, "base64 SecretBinary", "invalid base64")
            })
    }
}

impl Parameters<ExtensionSsmProvider> {
    /// SSM parameters through the extension configured from the environment.
    pub fn from_env() -> Result<Self, ParameterError> {
        Self::with_client(Arc::new(ExtensionClient::from_env()?))
    }

    /// SSM parameters through `client` (share it with [`ExtensionSecrets`]).
    pub fn with_client(client: Arc<ExtensionClient>) -> Result<Self, ParameterError> {
        Parameters::new(ExtensionSsmProvider::new(client)?)
    }
}

impl Parameters<ExtensionSecretsProvider> {
    /// Secrets through the extension configured from the environment.
    pub fn from_env() -> Result<Self, ParameterError> {
        Self::with_client(Arc::new(ExtensionClient::from_env()?))
    }

    /// Secrets through `client` (share it with [`ExtensionSsm`]).
    pub fn with_client(client: Arc<ExtensionClient>) -> Result<Self, ParameterError> {
        Parameters::new(ExtensionSecretsProvider::new(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_the_query() {
        assert_eq!(
            encode("/app/db url&x=1").to_string(),
            "%2Fapp%2Fdb%20url%26x%3D1"
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        let not_found = status_error("p", http::StatusCode::BAD_REQUEST, b"ParameterNotFound: x");
        assert!(matches!(not_found, ParameterError::NotFound { .. }));
        let denied = status_error("p", http::StatusCode::UNAUTHORIZED, b"");
        assert!(matches!(denied, ParameterError::AccessDenied { .. }));
        let throttled = status_error("p", http::StatusCode::TOO_MANY_REQUESTS, b"");
        assert!(throttled.is_transient());
        let failing = status_error("p", http::StatusCode::BAD_GATEWAY, b"");
        assert!(failing.is_transient());
    }
}
