//! One invocation's facts and its deadline.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize};

use crate::config::Config;

/// Lambda's longest function timeout. An invocation whose deadline is unknown is given this
/// much time, so `remaining_time()` never reports an unknown deadline as already passed.
pub const MAX_FUNCTION_TIMEOUT: Duration = Duration::from_secs(900);

/// What Lambda says about one invocation, handed to the handler with the event.
///
/// ```
/// use std::time::Duration;
///
/// // Tests build one; in Lambda the runtime does, from the invocation's headers.
/// let ctx = lambda_kit::Context::builder()
///     .request_id("req-1")
///     .remaining_time(Duration::from_secs(2))
///     .build();
/// assert_eq!(ctx.request_id(), "req-1");
/// assert!(ctx.remaining_time() <= Duration::from_secs(2));
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    request_id: String,
    invoked_function_arn: String,
    deadline: SystemTime,
    deadline_known: bool,
    xray_trace_id: Option<String>,
    // Boxed: both are rare and large, and a `Context` moves with every handler future.
    client_context: Option<Box<ClientContext>>,
    identity: Option<Box<CognitoIdentity>>,
    tenant_id: Option<String>,
    invocation_id: Option<String>,
    config: Arc<Config>,
}

/// Information a mobile-SDK caller attached to the invocation (`Lambda-Runtime-Client-Context`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientContext {
    /// The calling application.
    #[serde(default)]
    pub client: Option<ClientApplication>,
    /// Values the caller chose; non-string JSON values are kept as their JSON text.
    #[serde(default, deserialize_with = "string_map")]
    pub custom: HashMap<String, String>,
    /// The caller's environment: `platform`, `platform_version`, `make`, `model`, `locale`.
    #[serde(default, deserialize_with = "string_map")]
    pub env: HashMap<String, String>,
}

/// The mobile application that invoked the function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientApplication {
    /// The installation's id.
    pub installation_id: String,
    /// The application's title.
    pub app_title: String,
    /// The application's version name.
    pub app_version_name: String,
    /// The application's version code.
    pub app_version_code: String,
    /// The application's package name.
    pub app_package_name: String,
}

/// The Amazon Cognito identity that invoked the function (`Lambda-Runtime-Cognito-Identity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CognitoIdentity {
    /// The Cognito identity id.
    #[serde(rename = "cognitoIdentityId")]
    pub identity_id: String,
    /// The Cognito identity pool id.
    #[serde(rename = "cognitoIdentityPoolId")]
    pub identity_pool_id: String,
}

/// The future passed to [`Context::run_with_deadline`] did not finish in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the invocation stopped waiting {margin:?} before its deadline; \
     raise the function timeout or make the work faster"
)]
pub struct DeadlineExceeded {
    /// The margin that was kept before Lambda's deadline.
    pub margin: Duration,
}

impl Context {
    /// A builder for a context, with defaults for everything (used by local runs and tests).
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// The invocation's request id (`Lambda-Runtime-Aws-Request-Id`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The ARN the caller invoked, which may carry a version or alias qualifier.
    pub fn invoked_function_arn(&self) -> &str {
        &self.invoked_function_arn
    }

    /// When Lambda stops the invocation.
    ///
    /// When the Runtime API sent no usable deadline (local emulators sometimes send a
    /// constant from 1970) this is the arrival time plus [`MAX_FUNCTION_TIMEOUT`], and
    /// [`Context::deadline_known`] is false.
    pub fn deadline(&self) -> SystemTime {
        self.deadline
    }

    /// Whether [`Context::deadline`] came from Lambda rather than the fallback.
    pub fn deadline_known(&self) -> bool {
        self.deadline_known
    }

    /// Time left before the deadline; zero once it has passed.
    pub fn remaining_time(&self) -> Duration {
        self.deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// Runs `work`, giving up `margin` before the deadline with [`DeadlineExceeded`].
    ///
    /// Lambda kills an invocation at its deadline without a word; stopping a little
    /// earlier leaves time to log, clean up and report a clear error. With an unknown
    /// deadline `work` runs to completion.
    pub async fn run_with_deadline<F: Future>(
        &self,
        margin: Duration,
        work: F,
    ) -> Result<F::Output, DeadlineExceeded> {
        if !self.deadline_known {
            return Ok(work.await);
        }
        let budget = self.remaining_time().saturating_sub(margin);
        tokio::time::timeout(budget, work)
            .await
            .map_err(|_| DeadlineExceeded { margin })
    }

    /// The X-Ray trace header of the invocation (`Root=...;Parent=...;Sampled=...`).
    pub fn xray_trace_id(&self) -> Option<&str> {
        self.xray_trace_id.as_deref()
    }

    /// What a mobile-SDK caller attached, if anything.
    pub fn client_context(&self) -> Option<&ClientContext> {
        self.client_context.as_deref()
    }

    /// The Cognito identity of the caller, if any.
    pub fn identity(&self) -> Option<&CognitoIdentity> {
        self.identity.as_deref()
    }

    /// The tenant of a tenant-isolated function (`Lambda-Runtime-Aws-Tenant-Id`).
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The per-invoke nonce Lambda sent (`Lambda-Runtime-Invocation-Id`), echoed on the answer.
    pub fn invocation_id(&self) -> Option<&str> {
        self.invocation_id.as_deref()
    }

    /// The function's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Builds a [`Context`]; every field has a sensible default.
#[derive(Debug, Clone, Default)]
pub struct ContextBuilder {
    request_id: Option<String>,
    invoked_function_arn: Option<String>,
    deadline: Option<(SystemTime, bool)>,
    xray_trace_id: Option<Option<String>>,
    // Boxed as in `Context`: every setter moves the builder, and the runtime builds one
    // per invocation.
    client_context: Option<Box<ClientContext>>,
    identity: Option<Box<CognitoIdentity>>,
    tenant_id: Option<String>,
    invocation_id: Option<String>,
    config: Option<Arc<Config>>,
}

impl ContextBuilder {
    /// Sets the request id (default: a random UUID).
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the invoked ARN (default: a well-formed ARN for the configured function).
    pub fn invoked_function_arn(mut self, arn: impl Into<String>) -> Self {
        self.invoked_function_arn = Some(arn.into());
        self
    }

    /// Sets the deadline (default: now plus the configured local timeout, 3 s unless set).
    pub fn deadline(mut self, deadline: SystemTime) -> Self {
        self.deadline = Some((deadline, true));
        self
    }

    /// Sets the deadline to `remaining` from now.
    pub fn remaining_time(self, remaining: Duration) -> Self {
        self.deadline(SystemTime::now() + remaining)
    }

    /// Marks the deadline as unknown, as when the Runtime API sent none.
    pub fn unknown_deadline(self) -> Self {
        self.deadline_unknown_from(SystemTime::now())
    }

    pub(crate) fn deadline_unknown_from(mut self, arrival: SystemTime) -> Self {
        self.deadline = Some((arrival + MAX_FUNCTION_TIMEOUT, false));
        self
    }

    /// Sets the trace header, or `None` for an untraced invocation (default: a fresh,
    /// unsampled trace header).
    pub fn xray_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.xray_trace_id = Some(trace_id);
        self
    }

    /// Sets the client context.
    pub fn client_context(mut self, client_context: ClientContext) -> Self {
        self.client_context = Some(Box::new(client_context));
        self
    }

    /// Sets the Cognito identity.
    pub fn identity(mut self, identity: CognitoIdentity) -> Self {
        self.identity = Some(Box::new(identity));
        self
    }

    /// Sets the tenant id.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets the invocation nonce that answers must echo.
    pub fn invocation_id(mut self, invocation_id: impl Into<String>) -> Self {
        self.invocation_id = Some(invocation_id.into());
        self
    }

    /// Sets the function configuration (default: [`Config::local_defaults`]).
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Builds the context.
    pub fn build(self) -> Context {
        let config = self
            .config
            .unwrap_or_else(|| Arc::new(Config::local_defaults()));
        let (deadline, deadline_known) = self
            .deadline
            .unwrap_or_else(|| (SystemTime::now() + config.local_timeout(), true));
        let invoked_function_arn = self.invoked_function_arn.unwrap_or_else(|| {
            format!(
                "arn:aws:lambda:{}:123456789012:function:{}",
                config.region(),
                config.function_name()
            )
        });
        Context {
            request_id: self
                .request_id
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            invoked_function_arn,
            deadline,
            deadline_known,
            xray_trace_id: self
                .xray_trace_id
                .unwrap_or_else(|| Some(new_trace_header(false))),
            client_context: self.client_context,
            identity: self.identity,
            tenant_id: self.tenant_id,
            invocation_id: self.invocation_id,
            config,
        }
    }
}

/// A fresh X-Ray trace header: `Root=1-<epoch hex>-<96 random bits>;Parent=...;Sampled=0`
/// (or `Sampled=1` when `sampled`).
pub(crate) fn new_trace_header(sampled: bool) -> String {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let random = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled={}",
        epoch as u32,
        &random[..24],
        &parent[..16],
        u8::from(sampled)
    )
}

/// Reads a JSON object whose values should be strings, keeping other values as JSON text.
fn string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<HashMap<String, String>, D::Error> {
    let raw: Option<HashMap<String, serde_json::Value>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => (key, text),
            other => (key, other.to_string()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_saturates_at_zero() {
        let context = Context::builder()
            .deadline(SystemTime::now() - Duration::from_secs(5))
            .build();
        assert_eq!(context.remaining_time(), Duration::ZERO);
    }

    #[test]
    fn unknown_deadline_leaves_the_longest_timeout() {
        let context = Context::builder().unknown_deadline().build();
        assert!(!context.deadline_known());
        assert!(context.remaining_time() > Duration::from_secs(800));
    }

    #[test]
    fn defaults_are_well_formed() {
        let context = Context::builder().build();
        assert_eq!(context.request_id().len(), 36);
        assert!(
            context
                .invoked_function_arn()
                .starts_with("arn:aws:lambda:us-east-1:")
        );
        let trace = context.xray_trace_id().expect("a trace header by default");
        assert!(
            trace.starts_with("Root=1-") && trace.ends_with(";Sampled=0"),
            "{trace}"
        );
        assert_eq!(
            trace.len(),
            "Root=1-".len() + 8 + 1 + 24 + ";Parent=".len() + 16 + ";Sampled=0".len()
        );
    }

    #[test]
    fn client_context_keeps_non_string_custom_values_as_json() {
        let parsed: ClientContext = serde_json::from_str(
            r#"{"client":{"app_title":"shop"},"custom":{"a":"b","n":3,"o":{"x":true}},"env":{"platform":"Android"}}"#,
        )
        .expect("parses");
        assert_eq!(parsed.client.expect("client").app_title, "shop");
        assert_eq!(parsed.custom["a"], "b");
        assert_eq!(parsed.custom["n"], "3");
        assert_eq!(parsed.custom["o"], r#"{"x":true}"#);
        assert_eq!(parsed.env["platform"], "Android");
    }

    #[tokio::test(start_paused = true)]
    async fn run_with_deadline_stops_before_the_deadline() {
        let context = Context::builder()
            .remaining_time(Duration::from_secs(10))
            .build();
        let outcome = context
            .run_with_deadline(Duration::from_secs(1), std::future::pending::<()>())
            .await;
        assert_eq!(
            outcome,
            Err(DeadlineExceeded {
                margin: Duration::from_secs(1)
            })
        );
    }

    #[tokio::test]
    async fn run_with_deadline_returns_the_output_in_time() {
        let context = Context::builder()
            .remaining_time(Duration::from_secs(10))
            .build();
        let outcome = context
            .run_with_deadline(Duration::from_secs(1), async { 7 })
            .await;
        assert_eq!(outcome, Ok(7));
    }
}
