//! Handlers: the [`tower::Service`] an invocation goes through.
//!
//! The runtime drives any `Service<LambdaEvent<E>>` whose response serializes and whose
//! error converts into [`Error`]; tower layers wrap it like any other service.
//! [`handler_fn`] turns a plain `async fn(event, ctx)` into such a service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use crate::context::Context;
use crate::error::Error;

/// One invocation as a handler service receives it: the decoded event and its context.
#[derive(Debug, Clone)]
pub struct LambdaEvent<E> {
    /// The decoded event payload.
    pub payload: E,
    /// Facts about the invocation.
    pub context: Context,
}

impl<E> LambdaEvent<E> {
    /// Pairs an event with its context.
    pub fn new(payload: E, context: Context) -> Self {
        LambdaEvent { payload, context }
    }
}

/// What the runtime drives: a tower service that takes a [`LambdaEvent<E>`], answers an `R`,
/// and fails with anything [`Error`] converts from. Every such service is a `Handler`;
/// the trait only names the bounds.
pub trait Handler<E, R>: tower::Service<LambdaEvent<E>, Response = R, Error: Into<Error>> {}

impl<S, E, R> Handler<E, R> for S where
    S: tower::Service<LambdaEvent<E>, Response = R, Error: Into<Error>>
{
}

/// Makes a handler service out of an `async fn(event, ctx) -> Result<R, E>`.
///
/// ```
/// use lambda_kit::{handler_fn, Context, Error};
///
/// async fn echo(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
///     Ok(event)
/// }
///
/// let service = handler_fn(echo);
/// # let _ = service;
/// ```
pub fn handler_fn<F>(f: F) -> HandlerFn<F> {
    HandlerFn { f }
}

/// A handler service made from a function by [`handler_fn`].
#[derive(Debug, Clone, Copy)]
pub struct HandlerFn<F> {
    f: F,
}

impl<F, E, R, Err, Fut> tower::Service<LambdaEvent<E>> for HandlerFn<F>
where
    F: FnMut(E, Context) -> Fut,
    Fut: Future<Output = Result<R, Err>>,
    Err: Into<Error>,
{
    type Response = R;
    type Error = Error;
    type Future = HandlerFnFuture<Fut>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<E>) -> Self::Future {
        HandlerFnFuture {
            inner: (self.f)(event.payload, event.context),
        }
    }
}

pin_project! {
    /// The future of a [`HandlerFn`] call: the function's future with its error converted.
    pub struct HandlerFnFuture<Fut> {
        #[pin]
        inner: Fut,
    }
}

impl<Fut, R, Err> Future for HandlerFnFuture<Fut>
where
    Fut: Future<Output = Result<R, Err>>,
    Err: Into<Error>,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map(|result| result.map_err(Into::into))
    }
}
