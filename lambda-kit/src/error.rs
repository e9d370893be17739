//! How failures become Lambda's `errorType` / `errorMessage`.
//!
//! Any `std::error::Error + Send + Sync + 'static` converts into [`Error`] through `?`;
//! its errorType is the error's type name without module path or generics (`PaymentError`
//! for `my_app::billing::PaymentError<T>`), which stays the same across builds so that
//! Step Functions `Retry`/`Catch` rules can match it. A type that wants another name
//! implements [`Diagnostic`] and is converted with [`Error::from_diagnostic`].

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest errorType kept; Lambda copies it into a header and into telemetry.
const MAX_ERROR_TYPE_LEN: usize = 256;

/// The errorTypes the runtime itself reports.
pub mod error_type {
    /// The event payload did not decode into the handler's event type.
    pub const UNMARSHAL: &str = "Runtime.UnmarshalError";
    /// The handler's response could not be serialized.
    pub const MARSHAL: &str = "Runtime.MarshalError";
    /// The handler panicked.
    pub const PANIC: &str = "Runtime.Panic";
    /// The response was larger than the Runtime API accepts.
    pub const RESPONSE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";
    /// An environment variable could not be used.
    pub const CONFIG_INVALID: &str = "Runtime.ConfigInvalid";
    /// The handler service reported it could not take the invocation (`poll_ready` failed).
    pub const NOT_READY: &str = "Runtime.HandlerNotReady";
    /// The Runtime API handed out an invocation that could not be read (cut short,
    /// malformed, or over Lambda's event size): it was answered without running the handler.
    pub const INVALID_EVENT: &str = "Runtime.InvalidEvent";
    /// A streamed response could not be sent to its end (the connection failed part way).
    pub const STREAM_INTERRUPTED: &str = "Runtime.ResponseStreamInterrupted";
    /// The invocation ran past its timeout (`--event` and `--serve`; Lambda's own word).
    pub const TIMED_OUT: &str = "Sandbox.Timedout";
    /// Outside Lambda: the command line asked for the usage text, or made no sense, so
    /// nothing ran (the usage text says why).
    pub const COMMAND_LINE: &str = "Runtime.CommandLine";
    /// Outside Lambda: the `--serve` emulator could not serve (the address is taken, or
    /// not an address).
    pub const SERVE_FAILED: &str = "Runtime.ServeFailed";
    /// The header type of a `/runtime/restore/error` post: an after-restore hook failed (the
    /// body carries the hook's own error).
    pub const AFTER_RESTORE: &str = "Runtime.AfterRestoreError";
    /// `/runtime/restore/next` did not answer with success, so the function cannot resume
    /// after a SnapStart restore.
    pub const RESTORE_FAILED: &str = "Runtime.RestoreFailed";
    /// Outside Lambda: SIGTERM or Ctrl-C arrived before the `--event` invocation answered.
    pub const INTERRUPTED: &str = "Runtime.Interrupted";
    /// Used when an error supplies an empty errorType.
    pub const UNKNOWN: &str = "Runtime.Unknown";
}

/// A function error: what Lambda reports to the caller as `errorType` and `errorMessage`.
///
/// Like `anyhow::Error`, this type does not itself implement `std::error::Error`, so
/// that every error type can convert into it with `?`.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    error_type: Cow<'static, str>,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    extra_trace: Vec<String>,
    client_error: bool,
    /// Set when the error has been shown to the user already (`--event`'s error JSON, a
    /// usage text): the process ends with this status and prints nothing more.
    reported_exit_status: Option<u8>,
}

/// Lets an error type choose the errorType (and message) Lambda reports for it.
///
/// ```
/// use std::borrow::Cow;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("card declined")]
/// struct Declined;
///
/// impl lambda_kit::Diagnostic for Declined {
///     fn error_type(&self) -> Cow<'_, str> {
///         "Payment.Declined".into()
///     }
/// }
///
/// let error = lambda_kit::Error::from_diagnostic(Declined);
/// assert_eq!(error.error_type(), "Payment.Declined");
/// ```
pub trait Diagnostic: StdError + Send + Sync + 'static {
    /// The errorType to report, such as `Payment.Declined`.
    fn error_type(&self) -> Cow<'_, str>;

    /// The errorMessage to report; the error's `Display` text by default.
    fn error_message(&self) -> String {
        self.to_string()
    }

    /// Whether the caller is at fault (like an HTTP 4xx): X-Ray then records an error
    /// rather than a fault. `false` by default.
    fn is_client_error(&self) -> bool {
        false
    }
}

/// The JSON body Lambda expects on `/invocation/{id}/error` and `/init/error`, and what
/// the caller of a failed invocation receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The error's type, such as `Runtime.UnmarshalError`.
    pub error_type: String,
    /// What went wrong, in words.
    pub error_message: String,
    /// The error's `source()` chain (one `caused by:` line each) and other context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

impl Error {
    /// An error with an explicit errorType and message.
    ///
    /// ```
    /// let error = lambda_kit::Error::new("Payment.Declined", "card declined");
    /// assert_eq!(error.error_type(), "Payment.Declined");
    /// assert_eq!(error.message(), "card declined");
    /// ```
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::build(error_type.into(), message.into(), None)
    }

    /// An error whose errorType and message come from its [`Diagnostic`] impl.
    pub fn from_diagnostic<D: Diagnostic>(diagnostic: D) -> Self {
        let error_type = diagnostic.error_type().into_owned();
        let message = diagnostic.error_message();
        let client_error = diagnostic.is_client_error();
        let mut error = Self::build(error_type.into(), message, Some(Box::new(diagnostic)));
        error.inner.client_error = client_error;
        error
    }

    /// The errorType reported to Lambda: printable ASCII, at most 256 bytes.
    pub fn error_type(&self) -> &str {
        &self.inner.error_type
    }

    /// The errorMessage reported to Lambda.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether the caller is at fault (see [`Diagnostic::is_client_error`]).
    pub fn is_client_error(&self) -> bool {
        self.inner.client_error
    }

    /// The error this was converted from, if any.
    pub fn source(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// The original error, if it was converted from an `E`.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.inner.source.as_deref()?.downcast_ref()
    }

    /// Adds a line to the reported stackTrace (after the `source()` chain).
    pub fn with_trace_line(mut self, line: impl Into<String>) -> Self {
        self.inner.extra_trace.push(line.into());
        self
    }

    /// Marks the error as shown to the user already, so that [`Exit`](crate::Exit) ends
    /// the process with `status` and prints nothing more.
    pub(crate) fn reported(mut self, status: u8) -> Self {
        self.inner.reported_exit_status = Some(status);
        self
    }

    /// The exit status of an error shown to the user already (see [`Error::reported`]).
    pub(crate) fn reported_exit_status(&self) -> Option<u8> {
        self.inner.reported_exit_status
    }

    /// The body Lambda receives for this error.
    pub fn to_body(&self) -> ErrorBody {
        let mut stack_trace = Vec::new();
        let mut cause = self.source().and_then(|source| source.source());
        while let Some(error) = cause {
            stack_trace.push(format!("caused by: {error}"));
            cause = error.source();
        }
        stack_trace.extend(self.inner.extra_trace.iter().cloned());
        ErrorBody {
            error_type: self.inner.error_type.to_string(),
            error_message: self.inner.message.clone(),
            stack_trace,
        }
    }

    fn build(
        error_type: Cow<'static, str>,
        message: String,
        source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Error {
            inner: Box::new(Inner {
                error_type: sanitize_error_type(error_type),
                message,
                source,
                extra_trace: Vec::new(),
                client_error: false,
                reported_exit_status: None,
            }),
        }
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        let message = error.to_string();
        let error_type = short_type_name(std::any::type_name::<E>());
        Self::build(Cow::Borrowed(error_type), message, Some(Box::new(error)))
    }
}

impl From<ErrorBody> for Error {
    fn from(body: ErrorBody) -> Self {
        let mut error = Error::new(body.error_type, body.error_message);
        error.inner.extra_trace = body.stack_trace;
        error
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.error_type, self.inner.message)
    }
}

/// Readable, because `main` returning `Err(Error)` prints it with `Debug`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        for line in self.to_body().stack_trace {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// `my_app::billing::PaymentError<alloc::string::String>` -> `PaymentError`.
fn short_type_name(full: &'static str) -> &'static str {
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics)
}

/// Keeps an errorType safe for a header: printable ASCII only, bounded, never empty.
fn sanitize_error_type(error_type: Cow<'static, str>) -> Cow<'static, str> {
    let clean = |c: char| c.is_ascii_graphic() || c == ' ';
    if error_type.is_empty() {
        return Cow::Borrowed(error_type::UNKNOWN);
    }
    if error_type.len() <= MAX_ERROR_TYPE_LEN && error_type.chars().all(clean) {
        return error_type;
    }
    let sanitized: String = error_type
        .chars()
        .map(|c| if clean(c) { c } else { '_' })
        .take(MAX_ERROR_TYPE_LEN)
        .collect();
    Cow::Owned(sanitized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle failed")]
    struct Middle(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("generic {0}")]
    struct Generic<T: fmt::Debug + fmt::Display>(T);

    #[test]
    fn error_type_is_the_short_type_name() {
        let error = Error::from(Outer(Middle(std::io::Error::other("disk"))));
        assert_eq!(error.error_type(), "Outer");
        assert_eq!(error.message(), "outer failed");
    }

    #[test]
    fn generics_are_dropped_from_the_error_type() {
        let error = Error::from(Generic::<String>("x".into()));
        assert_eq!(error.error_type(), "Generic");
    }

    #[test]
    fn the_source_chain_goes_into_the_stack_trace() {
        let body = Error::from(Outer(Middle(std::io::Error::other("disk")))).to_body();
        assert_eq!(
            body.stack_trace,
            vec!["caused by: middle failed", "caused by: disk"]
        );
    }

    #[test]
    fn header_unsafe_error_types_are_sanitized() {
        let error = Error::new("Bad\r\nType\u{e9}", "m");
        assert_eq!(error.error_type(), "Bad__Type_");
        let long = Error::new("A".repeat(1000), "m");
        assert_eq!(long.error_type().len(), MAX_ERROR_TYPE_LEN);
        assert_eq!(Error::new("", "m").error_type(), error_type::UNKNOWN);
    }

    #[test]
    fn body_serializes_with_lambda_field_names() {
        let json = serde_json::to_value(Error::new("T", "m").to_body()).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"errorType": "T", "errorMessage": "m"})
        );
    }

    #[test]
    fn downcast_finds_the_original_error() {
        let error = Error::from(std::io::Error::other("disk"));
        assert!(error.downcast_ref::<std::io::Error>().is_some());
        assert!(error.downcast_ref::<std::fmt::Error>().is_none());
    }
}
