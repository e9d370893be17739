//! Turning a panicking handler into an ordinary error.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
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

thread_local! {
    /// Whether the current thread is inside a guarded call, whose panics are reported.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last guarded panic on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that stays quiet about panics inside guarded calls (the
/// runtime reports them as one ERROR line and an error post, with the location) and hands
/// every other panic to the hook that was there before.
pub(crate) fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.get() {
                let location = info.location().map(ToString::to_string);
                LOCATION.with_borrow_mut(|slot| *slot = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f` marked as guarded, restoring the previous mark afterwards.
fn while_guarded<T>(f: impl FnOnce() -> std::thread::Result<T>) -> std::thread::Result<T> {
    let outer = GUARDED.replace(true);
    let result = f();
    GUARDED.set(outer);
    result
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // A panicking poll leaves `inner` unusable; it is never polled again because the
        // outcome is returned right away, so observing broken state is impossible.
        match while_guarded(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))) {
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
    let future = while_guarded(|| catch_unwind(AssertUnwindSafe(start)))
        .map_err(|payload| panic_error(what, payload.as_ref()))?;
    CatchUnwind { inner: future }
        .await
        .map_err(|payload| panic_error(what, payload.as_ref()))
}

/// Runs `f`, turning a panic into a `Runtime.Panic` error that names `what` panicked.
pub(crate) fn guarded_sync<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Error> {
    while_guarded(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(|payload| panic_error(what, payload.as_ref()))
}

/// The `Runtime.Panic` error for a panic payload, carrying the panic message.
fn panic_error(what: &str, payload: &(dyn Any + Send)) -> Error {
    let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-string payload".to_owned()
    };
    let at = LOCATION
        .with_borrow_mut(Option::take)
        .map(|location| format!(" at {location}"))
        .unwrap_or_default();
    Error::new(
        error_type::PANIC,
        format!("the {what} panicked{at}: {message}"),
    )
}
