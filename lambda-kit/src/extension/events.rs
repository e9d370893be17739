//! The Extensions API's lifecycle events: `INVOKE` and `SHUTDOWN`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// An invocation began (`INVOKE`): the extension runs beside it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InvokeEvent {
    /// The invocation's deadline, Unix epoch milliseconds.
    pub deadline_ms: u64,
    /// The invocation's request id.
    pub request_id: String,
    /// The ARN the caller invoked.
    pub invoked_function_arn: String,
    /// The invocation's X-Ray trace, when it has one.
    pub tracing: Option<Tracing>,
}

/// The trace of an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Tracing {
    /// `X-Amzn-Trace-Id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The trace header.
    pub value: String,
}

/// The environment is shutting down (`SHUTDOWN`); the extension has until the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShutdownEvent {
    /// Why, as Lambda said it (see [`ShutdownEvent::reason`]).
    pub shutdown_reason: String,
    /// The deadline, Unix epoch milliseconds.
    pub deadline_ms: u64,
}

/// Why an environment shuts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// Lambda no longer needs the environment.
    Spindown,
    /// An invocation ran past its timeout.
    Timeout,
    /// The runtime or an extension failed.
    Failure,
    /// A reason this version does not know.
    Other,
}

impl ShutdownEvent {
    /// The reason; Lambda writes it in capitals in its docs and in lower case on the wire,
    /// so either is read.
    pub fn reason(&self) -> ShutdownReason {
        match self.shutdown_reason.to_ascii_lowercase().as_str() {
            "spindown" => ShutdownReason::Spindown,
            "timeout" => ShutdownReason::Timeout,
            "failure" => ShutdownReason::Failure,
            _ => ShutdownReason::Other,
        }
    }
}

impl InvokeEvent {
    /// The time left until the invocation's deadline (zero when it has passed).
    pub fn remaining_time(&self) -> Duration {
        remaining(self.deadline_ms)
    }
}

impl ShutdownEvent {
    /// The time left until the shutdown deadline (zero when it has passed).
    pub fn remaining_time(&self) -> Duration {
        remaining(self.deadline_ms)
    }
}

fn remaining(deadline_ms: u64) -> Duration {
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
}

/// An event from `event/next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NextEvent {
    Invoke(InvokeEvent),
    Shutdown(ShutdownEvent),
}

/// Why an `event/next` answer could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UnreadableEvent {
    #[error("an event of type {0:?}, which is neither INVOKE nor SHUTDOWN")]
    UnknownType(String),
    #[error("an event that is not the documented JSON: {0}")]
    Malformed(#[from] serde_json::Error),
}

impl NextEvent {
    /// Reads an `event/next` answer.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, UnreadableEvent> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Kind {
            event_type: String,
        }
        let kind: Kind = serde_json::from_slice(body)?;
        match kind.event_type.as_str() {
            "INVOKE" => Ok(NextEvent::Invoke(serde_json::from_slice(body)?)),
            "SHUTDOWN" => Ok(NextEvent::Shutdown(serde_json::from_slice(body)?)),
            _ => Err(UnreadableEvent::UnknownType(kind.event_type)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_as_lambda_sends_them() {
        let invoke = br#"{"eventType":"INVOKE","deadlineMs":1700000000000,"requestId":"r","invokedFunctionArn":"arn","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-a-b"}}"#;
        let NextEvent::Invoke(event) = NextEvent::parse(invoke).expect("readable") else {
            panic!("an invoke")
        };
        assert_eq!(event.request_id, "r");
        assert_eq!(event.remaining_time(), Duration::ZERO);
        assert_eq!(event.tracing.expect("traced").value, "Root=1-a-b");
        let no_trace =
            br#"{"eventType":"INVOKE","deadlineMs":1,"requestId":"r","invokedFunctionArn":"arn"}"#;
        assert!(matches!(
            NextEvent::parse(no_trace),
            Ok(NextEvent::Invoke(InvokeEvent { tracing: None, .. }))
        ));
        for (reason, expected) in [
            ("spindown", ShutdownReason::Spindown),
            ("TIMEOUT", ShutdownReason::Timeout),
            ("failure", ShutdownReason::Failure),
            ("?", ShutdownReason::Other),
        ] {
            let body =
                format!(r#"{{"eventType":"SHUTDOWN","shutdownReason":"{reason}","deadlineMs":5}}"#);
            let NextEvent::Shutdown(event) = NextEvent::parse(body.as_bytes()).expect("readable")
            else {
                panic!("a shutdown")
            };
            assert_eq!(event.reason(), expected);
        }
        assert!(
            matches!(NextEvent::parse(br#"{"eventType":"RESTORE"}"#), Err(UnreadableEvent::UnknownType(kind)) if kind == "RESTORE")
        );
        assert!(matches!(
            NextEvent::parse(br#"{"eventType":"INVOKE"}"#),
            Err(UnreadableEvent::Malformed(_))
        ));
        assert!(matches!(
            NextEvent::parse(b""),
            Err(UnreadableEvent::Malformed(_))
        ));
    }
}
