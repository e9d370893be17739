//! What `#[lambda_kit::handler]` expands to beyond the public API: two small dispatchers
//! that pick, at compile time and for a concrete type, between two ways of doing a thing.
//! Not a public API; the macro's documentation shows how to write the same by hand.
//!
//! Both use "autoref specialization": the method is looked up on `&&Wrap<T>`; the
//! preferred impl is for `&Wrap<T>` (found first), the fallback for `Wrap<T>` (found after
//! one auto-deref). It works because the macro calls it where `T` is a concrete type.

use std::cell::Cell;
use std::future::{Future, Ready, ready};

use crate::error::{Diagnostic, Error, error_type};

/// Holds a handler error until it is converted into an [`Error`].
pub struct ErrorWrap<E>(pub Cell<Option<E>>);

impl<E> ErrorWrap<E> {
    /// Wraps `error` for conversion.
    pub fn new(error: E) -> Self {
        ErrorWrap(Cell::new(Some(error)))
    }

    fn take(&self, convert: impl FnOnce(E) -> Error) -> Error {
        match self.0.take() {
            Some(error) => convert(error),
            // Each wrapper is converted exactly once by the generated code.
            None => Error::new(error_type::UNKNOWN, "the error was already converted"),
        }
    }
}

/// Preferred: an error type with a [`Diagnostic`] impl reports its own errorType.
pub trait ViaDiagnostic {
    /// Converts the wrapped error.
    fn take_lambda_error(&self) -> Error;
}

impl<E: Diagnostic> ViaDiagnostic for &ErrorWrap<E> {
    fn take_lambda_error(&self) -> Error {
        self.take(Error::from_diagnostic)
    }
}

/// Fallback: any error that converts into [`Error`].
pub trait ViaInto {
    /// Converts the wrapped error.
    fn take_lambda_error(&self) -> Error;
}

impl<E: Into<Error>> ViaInto for ErrorWrap<E> {
    fn take_lambda_error(&self) -> Error {
        self.take(Into::into)
    }
}

/// Holds what an init function returned: a future (async fn) or a result (plain fn).
pub struct InitWrap<T>(pub Cell<Option<T>>);

impl<T> InitWrap<T> {
    /// Wraps the return value of the init function.
    pub fn new(returned: T) -> Self {
        InitWrap(Cell::new(Some(returned)))
    }
}

/// Preferred: a plain `fn setup() -> Result<S, E>` becomes a ready future.
pub trait InitFromResult<S, E> {
    /// The future `Runtime::init` awaits.
    fn take_init_future(&self) -> Ready<Result<S, E>>;
}

impl<S, E> InitFromResult<S, E> for &InitWrap<Result<S, E>> {
    fn take_init_future(&self) -> Ready<Result<S, E>> {
        match self.0.take() {
            Some(result) => ready(result),
            None => unreachable_init(),
        }
    }
}

/// Fallback: an `async fn setup()` is awaited as it is.
pub trait InitFromFuture<F> {
    /// The future `Runtime::init` awaits.
    fn take_init_future(&self) -> F;
}

impl<F: Future> InitFromFuture<F> for InitWrap<F> {
    fn take_init_future(&self) -> F {
        match self.0.take() {
            Some(future) => future,
            None => unreachable_init(),
        }
    }
}

fn unreachable_init() -> ! {
    // The generated code takes the value exactly once, right after wrapping it.
    unreachable!("the init value was taken twice")
}

/// The request an HTTP handler fn receives.
#[cfg(feature = "http")]
pub type HttpRequest = ::http::Request<crate::http::Body>;

/// Crate internals the benchmarks measure and the fuzz targets feed (not an API: it may
/// change at any time).
pub mod bench {
    use std::sync::Arc;
    use std::time::SystemTime;

    use crate::config::Config;
    use crate::context::Context;

    /// Reads `bytes` as the Runtime API's answer to a `/next` poll, as the runtime reads
    /// every answer: the status and the body's length, or `None` if the answer is refused.
    pub fn read_answer(bytes: &[u8]) -> Option<(u16, usize)> {
        crate::runtime::wire::answer_from_bytes(bytes)
            .ok()
            .map(|answer| (answer.status.as_u16(), answer.body.len()))
    }

    /// Parses `/next` headers into a context, as the runtime does for every invocation.
    pub fn context_from_headers(
        headers: &http::HeaderMap,
        config: &Arc<Config>,
    ) -> Option<Context> {
        crate::runtime::invocation::context_from_headers(headers, config, SystemTime::now()).ok()
    }

    /// Decodes an HTTP event (any integration) and turns it into the `http::Request` a
    /// handler receives, as the HTTP adapter does; `None` if either step refuses it.
    #[cfg(feature = "http")]
    pub fn http_request_from_event(payload: &[u8]) -> Option<::http::Request<crate::http::Body>> {
        let event: crate::http::HttpEvent = serde_json::from_slice(payload).ok()?;
        let context = Context::builder().build();
        crate::http::request::into_request(event, context)
            .ok()
            .map(|(request, _shape)| request)
    }

    /// Builds, ends and encodes one X-Ray subsegment with an annotation, as the X-Ray layer
    /// does when a sampled span closes; returns the datagram's length.
    pub fn xray_datagram() -> usize {
        crate::xray::bench_datagram()
    }
}

/// Init state that concurrent invocations can share.
#[diagnostic::on_unimplemented(
    message = "the init state `{Self}` is shared by concurrent invocations, so it must be `Send + Sync + 'static`",
    label = "not shareable between invocations",
    note = "wrap what is not thread-safe in a `std::sync::Mutex`, or use thread-safe types (`Arc` rather than `Rc`)"
)]
pub trait SharedState: Send + Sync + 'static {}

impl<T: Send + Sync + 'static> SharedState for T {}

/// Fails to compile, at the state's type, when the state cannot be shared.
pub fn assert_shared_state<T: SharedState>() {}

#[cfg(test)]
// The `&&` is the dispatch under test; removing it would change which impl is chosen.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("declined")]
    struct Declined;

    impl Diagnostic for Declined {
        fn error_type(&self) -> std::borrow::Cow<'_, str> {
            "Payment.Declined".into()
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("plain")]
    struct Plain;

    #[test]
    fn diagnostic_errors_keep_their_error_type() {
        assert_eq!(
            (&&ErrorWrap::new(Declined))
                .take_lambda_error()
                .error_type(),
            "Payment.Declined"
        );
        assert_eq!(
            (&&ErrorWrap::new(Plain)).take_lambda_error().error_type(),
            "Plain"
        );
        let explicit = Error::new("Explicit.Type", "m");
        assert_eq!(
            (&&ErrorWrap::new(explicit))
                .take_lambda_error()
                .error_type(),
            "Explicit.Type"
        );
    }

    #[tokio::test]
    async fn init_accepts_results_and_futures() {
        let from_result: Result<u8, Plain> = (&&InitWrap::new(Ok::<u8, Plain>(1)))
            .take_init_future()
            .await;
        assert_eq!(from_result.ok(), Some(1));
        let from_future: Result<u8, Plain> = (&&InitWrap::new(async { Ok::<u8, Plain>(2) }))
            .take_init_future()
            .await;
        assert_eq!(from_future.ok(), Some(2));
    }
}
