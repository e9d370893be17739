//! Turning a panicking handler into an ordinary error.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::error::{Error, error_type};

pin_project! {
    /// Polls `inner`, turning a panic during a poll into `Err(payload)`.
    struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // A panicking poll leaves `inner` unusable; it is never polled again because the
        // outcome is returned right away, so observing broken state is impossible.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Starts a future with `start` and runs it, turning a panic in either step into a
/// `Runtime.Panic` error that names `what` panicked.
pub(crate) async fn guarded<Fut: Future>(
    what: &str,
    start: impl FnOnce() -> Fut,
) -> Result<Fut::Output, Error> {
    let future = catch_unwind(AssertUnwindSafe(start))
        .map_err(|payload| panic_error(what, payload.as_ref()))?;
    CatchUnwind { inner: future }
        .await
        .map_err(|payload| panic_error(what, payload.as_ref()))
}

/// The `Runtime.Panic` error for a panic payload, carrying the panic message.
pub(crate) fn panic_error(what: &str, payload: &(dyn Any + Send)) -> Error {
    let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-string payload".to_owned()
    };
    Error::new(error_type::PANIC, format!("the {what} panicked: {message}"))
}
