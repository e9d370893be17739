//! The testing kit (cargo feature `testing`): fake contexts, in-process invocation through
//! the same path the runtime uses, and [`FakeRuntimeApi`], a real Runtime API server on
//! 127.0.0.1 for end-to-end tests of a running loop.
//!
//! ```
//! use lambda_kit::testing::{self, Outcome};
//! use lambda_kit::{handler_fn, Context, Error};
//!
//! async fn double(n: u32, _ctx: Context) -> Result<u32, Error> {
//!     Ok(n * 2)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let outcome = testing::invoke(handler_fn(double), 21).await;
//! assert_eq!(outcome, Outcome::Response(serde_json::json!(42)));
//!
//! let outcome = testing::invoke(handler_fn(double), "twenty-one").await;
//! assert_eq!(outcome.expect_error().error_type, "Runtime.UnmarshalError");
//! # });
//! ```

pub mod events;
mod fake_api;
mod fault;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use fake_api::{
    Answer, AnswerKind, FakeInvocation, FakeRuntimeApi, Fault, PostedExtensionError, RecordedCall,
    RegisteredExtension, Route,
};

use crate::context::{Context, ContextBuilder};
use crate::error::ErrorBody;
use crate::handler::Handler;
use crate::response::{FunctionResponse, IntoFunctionResponse};

/// A handler's init state as the runtime holds it, for the `<name>_handler(state)` fn
/// that `#[lambda_kit::handler(init = ..)]` generates for tests: a state lives as long as
/// its environment, so the handler borrows it for `'static`, and a test leaks one.
///
/// ```
/// struct Prices { tax: f64 }
/// let prices: &'static Prices = lambda_kit::testing::state(Prices { tax: 0.2 });
/// assert_eq!(prices.tax, 0.2);
/// ```
pub fn state<S>(state: S) -> &'static S {
    Box::leak(Box::new(state))
}

/// A fake [`Context`] builder: random request id, 3 s remaining, a well-formed ARN and an
/// unsampled trace header, each overridable.
pub fn context() -> ContextBuilder {
    Context::builder()
}

/// What Lambda would report for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler's encoded response, parsed back into JSON.
    Response(serde_json::Value),
    /// The error body Lambda would return.
    Error(ErrorBody),
}

impl Outcome {
    /// The response; panics with the error body if the invocation failed.
    pub fn expect_response(self) -> serde_json::Value {
        match self {
            Outcome::Response(response) => response,
            Outcome::Error(error) => {
                panic!("expected a response, the invocation failed: {error:?}")
            }
        }
    }

    /// The error body; panics with the response if the invocation succeeded.
    pub fn expect_error(self) -> ErrorBody {
        match self {
            Outcome::Error(error) => error,
            Outcome::Response(response) => panic!("expected an error, got the response {response}"),
        }
    }
}

/// Invokes `handler` with `event` and a fake context through the runtime's own
/// decode -> call -> encode -> error path.
///
/// ```
/// use lambda_kit::testing::invoke;
/// use lambda_kit::{Context, Error, handler_fn};
/// use serde_json::{Value, json};
///
/// async fn refuse(_event: Value, _ctx: Context) -> Result<Value, Error> {
///     Err(Error::new("Order.Refused", "no stock"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let error = invoke(handler_fn(refuse), json!({})).await.expect_error();
/// assert_eq!(error.error_type, "Order.Refused");
/// # }
/// ```
pub async fn invoke<S, E, R>(handler: S, event: impl Serialize) -> Outcome
where
    S: Handler<E, R>,
    E: DeserializeOwned,
    R: IntoFunctionResponse,
{
    let payload = serde_json::to_vec(&event).expect("the test event serializes to JSON");
    invoke_raw(handler, &payload, context().build()).await
}

/// Invokes `handler` with raw payload bytes and the given context.
pub async fn invoke_raw<S, E, R>(mut handler: S, payload: &[u8], context: Context) -> Outcome
where
    S: Handler<E, R>,
    E: DeserializeOwned,
    R: IntoFunctionResponse,
{
    match crate::drive::drive(&mut handler, payload, context).await {
        Ok(FunctionResponse::Buffered(bytes)) => Outcome::Response(
            serde_json::from_slice(&bytes).expect("the runtime encodes responses as JSON"),
        ),
        // A stream is read to its end; its body (without an HTTP prelude) becomes a string,
        // and an error part way is the outcome, as Lambda reports it.
        Ok(FunctionResponse::Streamed(streamed)) => {
            let mut body = streamed.body;
            let mut collected = Vec::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
                match chunk {
                    Ok(chunk) => collected.extend_from_slice(&chunk),
                    Err(error) => return Outcome::Error(error.to_body()),
                }
            }
            Outcome::Response(serde_json::Value::String(
                String::from_utf8_lossy(&collected).into_owned(),
            ))
        }
        Err(error) => Outcome::Error(error.to_body()),
    }
}
