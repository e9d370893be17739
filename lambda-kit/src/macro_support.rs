//! What `#[lambda_kit::handler]` expands to beyond the public API: two small dispatchers
//! that pick, at compile time and for a concrete type, between two ways of doing a thing,
//! and the loop's entry points with the handler's types named, so that a type that cannot
//! serve is reported at the user's token in words that say what to write. Not a public
//! API; the macro's documentation shows how to write the same by hand.
//!
//! Both use "autoref specialization": the method is looked up on `&&Wrap<T>`; the
//! preferred impl is for `&Wrap<T>` (found first), the fallback for `Wrap<T>` (found after
//! one auto-deref). It works because the macro calls it where `T` is a concrete type.

use std::cell::Cell;
use std::future::{Future, Ready, ready};
use std::pin::Pin;

use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::error::{Diagnostic, Error, error_type};
use crate::handler::{Handler, LambdaEvent};
use crate::response::IntoFunctionResponse;
use crate::runtime::Runtime;

/// Holds a handler error until it is converted into an [`Error`].
pub struct ErrorWrap<E>(pub Cell<Option<E>>);

impl<E> std::fmt::Debug for ErrorWrap<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorWrap")
    }
}

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

/// Fallback: any error that converts into [`Error`]. It applies to every type, and asks
/// for the conversion at the call, so that an error type without one is reported with
/// [`HandlerError`]'s words rather than as a missing method.
pub trait ViaInto {
    /// The wrapped error's type.
    type Wrapped;

    /// Converts the wrapped error.
    fn take_lambda_error(&self) -> Error
    where
        Self::Wrapped: HandlerError;
}

impl<E> ViaInto for ErrorWrap<E> {
    type Wrapped = E;

    fn take_lambda_error(&self) -> Error
    where
        E: HandlerError,
    {
        self.take(Into::into)
    }
}

/// An error type a handler may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's error: it does not convert into `lambda_kit::Error`",
    label = "the error type of this `Result`",
    note = "return an error type (anything that implements `std::error::Error + Send + Sync + 'static`, optionally with `lambda_kit::Diagnostic` for its errorType), or `lambda_kit::Error` itself: `Error::new(\"MyFunction.Failed\", message)`"
)]
pub trait HandlerError: Into<Error> {}

impl<E: Into<Error>> HandlerError for E {}

/// An event type a handler may take.
#[diagnostic::on_unimplemented(
    message = "the event type `{Self}` cannot be decoded from the invocation's JSON",
    label = "derive `serde::Deserialize` for this type",
    note = "write `#[derive(serde::Deserialize)]` on it, or take `serde_json::Value`"
)]
pub trait HandlerEvent: DeserializeOwned {}

impl<E: DeserializeOwned> HandlerEvent for E {}

/// The loop, once started. Boxed (once per process) so that its type does not repeat the
/// bounds below: an unmet one is then reported once, at the user's token.
pub type Serving = Pin<Box<dyn Future<Output = Result<(), Error>>>>;

/// `runtime.run_concurrent(handler)`, with the event and response types named by the
/// macro (at the user's tokens).
pub fn run_concurrent<E, R, L, H>(runtime: Runtime<L>, handler: H) -> Serving
where
    E: HandlerEvent + Send + 'static,
    R: IntoFunctionResponse + Send + 'static,
    L: Layer<H> + 'static,
    H: 'static,
    L::Service: Handler<E, R> + Clone + Send + 'static,
    // rustc's own words for a future that is not `Send` (what it holds across which
    // `.await`) are the best there are; the README's forms table names `sequential`.
    <L::Service as Service<LambdaEvent<E>>>::Future: Send,
    <L::Service as Service<LambdaEvent<E>>>::Error: Send,
{
    Box::pin(runtime.run_concurrent(handler))
}

/// `runtime.run(handler)` (the `sequential` option), with the types named likewise.
pub fn run<E, R, L, H>(runtime: Runtime<L>, handler: H) -> Serving
where
    E: HandlerEvent + 'static,
    R: IntoFunctionResponse + 'static,
    L: Layer<H> + 'static,
    L::Service: Handler<E, R> + 'static,
    H: 'static,
{
    Box::pin(runtime.run(handler))
}

/// Holds what an init function returned: a future (async fn) or a result (plain fn).
pub struct InitWrap<T>(pub Cell<Option<T>>);

impl<T> std::fmt::Debug for InitWrap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitWrap")
    }
}

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
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
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
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn http_request_from_event(payload: &[u8]) -> Option<::http::Request<crate::http::Body>> {
        let event: crate::http::HttpEvent = serde_json::from_slice(payload).ok()?;
        let context = Context::builder().build();
        crate::http::request::into_request(event, context)
            .ok()
            .map(|(request, _shape)| request)
    }

    /// Reads what the OpenTelemetry layer takes from an event before the handler runs: the
    /// `faas.trigger` value and a W3C `traceparent`, as the loop does for every event then.
    pub fn event_facts(payload: &[u8]) -> (&'static str, Option<String>) {
        let facts = crate::telemetry::event::EventFacts::read(payload);
        (facts.trigger.as_str(), facts.traceparent)
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
