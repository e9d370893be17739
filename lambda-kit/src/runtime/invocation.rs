//! Turning a `/next` answer into a [`Context`].
//!
//! Only the request id is indispensable (without it the invocation cannot be answered);
//! every other header is optional and a malformed one is logged and left out, so a quirk
//! of an emulator never costs an invocation.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::wire::AnswerHeaders;
use crate::config::Config;
use crate::context::{ClientContext, CognitoIdentity, Context};
use crate::protocol::header;

/// The Runtime API's headers as ready-made names: a lookup by `&str` would validate and
/// lower-case the name again each time.
pub(crate) mod name {
    use crate::protocol::header;
    use http::HeaderName;

    pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static(header::REQUEST_ID);
    pub(crate) const DEADLINE_MS: HeaderName = HeaderName::from_static(header::DEADLINE_MS);
    pub(crate) const INVOKED_FUNCTION_ARN: HeaderName =
        HeaderName::from_static(header::INVOKED_FUNCTION_ARN);
    pub(crate) const TRACE_ID: HeaderName = HeaderName::from_static(header::TRACE_ID);
    pub(crate) const CLIENT_CONTEXT: HeaderName = HeaderName::from_static(header::CLIENT_CONTEXT);
    pub(crate) const COGNITO_IDENTITY: HeaderName =
        HeaderName::from_static(header::COGNITO_IDENTITY);
    pub(crate) const TENANT_ID: HeaderName = HeaderName::from_static(header::TENANT_ID);
    pub(crate) const INVOCATION_ID: HeaderName = HeaderName::from_static(header::INVOCATION_ID);
    pub(crate) const FUNCTION_ERROR_TYPE: HeaderName =
        HeaderName::from_static(header::FUNCTION_ERROR_TYPE);
    pub(crate) const RESPONSE_MODE: HeaderName = HeaderName::from_static(header::RESPONSE_MODE);
}

/// A deadline further than this from now is not a real deadline (cargo-lambda sends the
/// constant 600000, which is January 1970).
const PLAUSIBLE_DEADLINE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A `/next` answer without a usable request id: it cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Runtime API sent an invocation without a usable Lambda-Runtime-Aws-Request-Id header")]
pub(crate) struct MissingRequestId;

/// A `/next` answer that named its invocation but could not be used: it is answered with
/// an error instead of being run (or lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnreadableInvocation {
    /// The request id exactly as it arrived (it need not be UTF-8).
    pub(crate) request_id: Vec<u8>,
    /// The per-invoke nonce to echo, if it could be read.
    pub(crate) invocation_id: Option<String>,
    /// What was wrong, for the error message.
    pub(crate) reason: String,
}

/// The invocation a `/next` answer that failed part way belongs to, read from what
/// arrived of its head: only a `200` answer with a complete request id line names one.
pub(crate) fn unreadable_invocation(
    head: &[u8],
    failure: &dyn std::fmt::Display,
) -> Option<UnreadableInvocation> {
    let status_ok =
        head.starts_with(b"HTTP/1.") && head.get(8..13).is_some_and(|status| status == b" 200 ");
    if !status_ok {
        return None;
    }
    Some(UnreadableInvocation {
        request_id: raw_header(head, header::REQUEST_ID)?.to_vec(),
        invocation_id: raw_header(head, header::INVOCATION_ID)
            .and_then(|value| std::str::from_utf8(value).ok())
            .map(str::to_owned),
        reason: failure.to_string(),
    })
}

/// The trimmed, non-empty value of the first complete line `name: value` of a raw head,
/// read line by line without a parser, so that it is found in heads a parser refuses
/// (too many headers, a line without a colon).
fn raw_header<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let complete = &head[..head.iter().rposition(|&byte| byte == b'\n')?];
    complete
        .split(|&byte| byte == b'\n')
        .skip(1)
        .find_map(|line| {
            let colon = line.iter().position(|&byte| byte == b':')?;
            let (field, value) = line.split_at(colon);
            if !field.eq_ignore_ascii_case(name.as_bytes()) {
                return None;
            }
            Some(value[1..].trim_ascii()).filter(|value| !value.is_empty())
        })
}

/// Headers that can be looked up by name: the runtime's own answers, or an `http::HeaderMap`.
pub(crate) trait HeaderLookup {
    /// The first value of `name`.
    fn value(&self, name: &HeaderName) -> Option<&[u8]>;
}

impl HeaderLookup for HeaderMap {
    fn value(&self, name: &HeaderName) -> Option<&[u8]> {
        self.get(name).map(HeaderValue::as_bytes)
    }
}

impl HeaderLookup for AnswerHeaders {
    fn value(&self, name: &HeaderName) -> Option<&[u8]> {
        self.get(name.as_str())
    }
}

/// Reads the context of an invocation from the `/next` headers.
pub(crate) fn context_from_headers(
    headers: &impl HeaderLookup,
    config: &Arc<Config>,
    now: SystemTime,
) -> Result<Context, MissingRequestId> {
    let text = |name: &HeaderName| {
        headers
            .value(name)
            .and_then(|value| std::str::from_utf8(value).ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let request_id = text(&name::REQUEST_ID).ok_or(MissingRequestId)?;
    let mut builder = Context::builder()
        .request_id(request_id)
        .config(Arc::clone(config))
        .xray_trace_id(text(&name::TRACE_ID).map(str::to_owned))
        .invoked_function_arn(text(&name::INVOKED_FUNCTION_ARN).unwrap_or_default());
    builder = match text(&name::DEADLINE_MS).map(|ms| parse_deadline(ms, now)) {
        Some(Some(deadline)) => builder.deadline(deadline),
        Some(None) => {
            tracing::debug!(
                value = text(&name::DEADLINE_MS),
                "ignoring an implausible invocation deadline"
            );
            builder.deadline_unknown_from(now)
        }
        None => builder.deadline_unknown_from(now),
    };
    if let Some(raw) = text(&name::CLIENT_CONTEXT) {
        match parse_client_context(raw) {
            Some(client_context) => builder = builder.client_context(client_context),
            None => {
                tracing::warn!(%request_id, "ignoring a client context that is not a JSON object")
            }
        }
    }
    if let Some(raw) = text(&name::COGNITO_IDENTITY) {
        match json_object::<CognitoIdentity>(raw.as_bytes()) {
            Some(identity) => builder = builder.identity(identity),
            None => tracing::warn!(
                %request_id,
                "ignoring a Cognito identity that is not a JSON object"
            ),
        }
    }
    if let Some(tenant_id) = text(&name::TENANT_ID) {
        builder = builder.tenant_id(tenant_id);
    }
    if let Some(invocation_id) = text(&name::INVOCATION_ID) {
        builder = builder.invocation_id(invocation_id);
    }
    Ok(builder.build())
}

/// Epoch milliseconds to a deadline, or `None` when the value is not a plausible deadline.
fn parse_deadline(ms: &str, now: SystemTime) -> Option<SystemTime> {
    let deadline = UNIX_EPOCH.checked_add(Duration::from_millis(ms.parse().ok()?))?;
    let distance = match deadline.duration_since(now) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    (distance <= PLAUSIBLE_DEADLINE_WINDOW).then_some(deadline)
}

/// Lambda hands over the decoded JSON; cargo-lambda hands over the base64 the caller sent.
fn parse_client_context(raw: &str) -> Option<ClientContext> {
    json_object(raw.as_bytes()).or_else(|| {
        let decoded = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
        json_object(&decoded)
    })
}

/// Reads a JSON object into `T`; derived structs would also accept an array, which no
/// Lambda header carries.
fn json_object<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Option<T> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(raw).ok()?;
    serde_json::from_value(serde_json::Value::Object(object)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn parse(pairs: &[(&'static str, &str)]) -> Result<Context, MissingRequestId> {
        context_from_headers(
            &headers(pairs),
            &Arc::new(Config::local_defaults()),
            SystemTime::now(),
        )
    }

    fn epoch_ms(time: SystemTime) -> String {
        time.duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis()
            .to_string()
    }

    proptest::proptest! {
        /// Whatever the `/next` headers hold, parsing yields a context or a missing-id
        /// error, never a panic.
        #[test]
        fn arbitrary_headers_never_panic(
            values in proptest::collection::vec(proptest::collection::vec(0x20u8..0x7f, 0..64), 8),
        ) {
            let names = [
                header::REQUEST_ID, header::DEADLINE_MS, header::INVOKED_FUNCTION_ARN, header::TRACE_ID,
                header::CLIENT_CONTEXT, header::COGNITO_IDENTITY, header::TENANT_ID, header::INVOCATION_ID,
            ];
            let mut map = HeaderMap::new();
            for (name, value) in names.iter().zip(&values) {
                if let Ok(value) = http::HeaderValue::from_bytes(value) {
                    map.insert(*name, value);
                }
            }
            let _ = context_from_headers(&map, &Arc::new(Config::local_defaults()), SystemTime::now());
        }
    }

    #[test]
    fn every_header_is_read() {
        let deadline = SystemTime::now() + Duration::from_secs(30);
        let context = parse(&[
            (header::REQUEST_ID, "req-1"),
            (header::DEADLINE_MS, &epoch_ms(deadline)),
            (
                header::INVOKED_FUNCTION_ARN,
                "arn:aws:lambda:eu-west-1:1:function:f:live",
            ),
            (
                header::TRACE_ID,
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
            (header::CLIENT_CONTEXT, r#"{"custom":{"k":"v"}}"#),
            (
                header::COGNITO_IDENTITY,
                r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#,
            ),
            (header::TENANT_ID, "tenant-9"),
            (header::INVOCATION_ID, "nonce-1"),
        ])
        .expect("valid");
        assert_eq!(context.request_id(), "req-1");
        assert!(context.deadline_known());
        let drift = context
            .deadline()
            .duration_since(deadline)
            .unwrap_or_default();
        assert!(drift < Duration::from_millis(1));
        assert_eq!(
            context.invoked_function_arn(),
            "arn:aws:lambda:eu-west-1:1:function:f:live"
        );
        assert!(
            context
                .xray_trace_id()
                .expect("trace")
                .contains("Sampled=1")
        );
        assert_eq!(context.client_context().expect("cc").custom["k"], "v");
        let identity = context.identity().expect("identity");
        assert_eq!(
            (
                identity.identity_id.as_str(),
                identity.identity_pool_id.as_str()
            ),
            ("id", "pool")
        );
        assert_eq!(context.tenant_id(), Some("tenant-9"));
        assert_eq!(context.invocation_id(), Some("nonce-1"));
    }

    #[test]
    fn an_unreadable_answer_is_named_by_its_request_id_line() {
        let found = unreadable_invocation(
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\nno colon here\r\nLambda-Runtime-Aws-Request-Id:  r-\xff \r\n\
              Lambda-Runtime-Invocation-Id: n1\r\nContent-Len",
            &"cut short",
        )
        .expect("named");
        assert_eq!(found.request_id, b"r-\xff");
        assert_eq!(found.invocation_id.as_deref(), Some("n1"));
        assert_eq!(found.reason, "cut short");
        // Not a 200, a request id line still arriving, or none at all: nothing to answer.
        for head in [
            &b"HTTP/1.1 403 Forbidden\r\nLambda-Runtime-Aws-Request-Id: r\r\n"[..],
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r",
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id:   \r\n",
            b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n",
            b"HTTP/1.1 20",
        ] {
            assert_eq!(unreadable_invocation(head, &"x"), None, "{head:?}");
        }
    }

    #[test]
    fn no_request_id_is_an_error() {
        assert_eq!(parse(&[]).expect_err("an error"), MissingRequestId);
        assert_eq!(
            parse(&[(header::REQUEST_ID, "  ")]).expect_err("an error"),
            MissingRequestId
        );
    }

    #[test]
    fn absurd_deadlines_are_unknown_not_expired() {
        for value in ["600000", "not-a-number", "99999999999999999999", "-5"] {
            let context =
                parse(&[(header::REQUEST_ID, "r"), (header::DEADLINE_MS, value)]).expect("valid");
            assert!(!context.deadline_known(), "{value}");
            assert!(
                context.remaining_time() > Duration::from_secs(800),
                "{value}"
            );
        }
    }

    #[test]
    fn missing_optional_headers_are_absent() {
        let context = parse(&[(header::REQUEST_ID, "r")]).expect("valid");
        assert_eq!(context.xray_trace_id(), None);
        assert_eq!(context.client_context(), None);
        assert_eq!(context.identity(), None);
        assert_eq!(context.invocation_id(), None);
        assert!(!context.deadline_known());
    }

    #[test]
    fn base64_client_context_is_accepted() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"k":"v"}}"#);
        let context = parse(&[
            (header::REQUEST_ID, "r"),
            (header::CLIENT_CONTEXT, &encoded),
        ])
        .expect("valid");
        assert_eq!(context.client_context().expect("decoded").custom["k"], "v");
    }

    #[test]
    fn unreadable_optional_headers_are_dropped() {
        let context = parse(&[
            (header::REQUEST_ID, "r"),
            (header::CLIENT_CONTEXT, "{not json"),
            (header::COGNITO_IDENTITY, "[]"),
        ])
        .expect("valid");
        assert_eq!(context.client_context(), None);
        assert_eq!(context.identity(), None);
    }
}
