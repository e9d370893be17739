//! lambda-kit: write AWS Lambda functions in Rust.
//!
//! A function is an async fn from an event to a response. lambda-kit runs it against
//! Lambda's Runtime API inside Lambda, runs it once from the command line outside it
//! (`bootstrap --event '{"name":"Ada"}'`), and tests it like any async fn.
//!
//! ```
//! use lambda_kit::{Context, Error};
//!
//! #[derive(serde::Deserialize)]
//! struct Request {
//!     name: Option<String>,
//! }
//!
//! #[derive(serde::Serialize)]
//! struct Response {
//!     message: String,
//! }
//!
//! async fn hello(event: Request, ctx: Context) -> Result<Response, Error> {
//!     tracing::info!(remaining_ms = ctx.remaining_time().as_millis() as u64, "greeting");
//!     let name = event.name.as_deref().unwrap_or("world");
//!     Ok(Response { message: format!("Hello, {name}!") })
//! }
//!
//! // In `main`:
//! //     Runtime::from_env()?.run(lambda_kit::handler_fn(hello)).await
//! // A handler is also just an async fn, so a unit test calls it directly:
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let response = hello(Request { name: Some("Ada".into()) }, Context::builder().build()).await?;
//! assert_eq!(response.message, "Hello, Ada!");
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
//!
//! The pieces:
//! - [`Runtime`]: reads the environment once, runs init once, then serves invocations;
//! - [`Exit`]: the exit status `main` returns (0, 1 for a failure, 2 for a bad command line);
//! - [`Context`]: one invocation's facts and deadline helpers;
//! - [`Error`] and [`Diagnostic`]: how failures become Lambda's `errorType`/`errorMessage`;
//! - [`handler_fn`] and [`LambdaEvent`]: handlers as `tower::Service`s, so tower layers apply;
//! - [`events`]: typed events, one cargo feature per event source;
//! - `otel` (feature `otel`): OpenTelemetry traces over OTLP/HTTP, with Lambda's conventions;
//! - `testing` (feature `testing`): fake contexts, in-process invoke, a fake Runtime API.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;
#[cfg(any(emulator, feature = "testing"))]
mod api_server;
pub mod batch;
#[cfg(any(feature = "http", emulator))]
mod body_text;
mod config;
mod context;
mod drive;
mod error;
pub mod events;
#[cfg(feature = "extension")]
#[cfg_attr(docsrs, doc(cfg(feature = "extension")))]
pub mod extension;
mod handler;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod local;
pub mod logging;
pub mod metrics;
mod mode;
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub mod otel;
mod panic;
pub mod protocol;
mod random;
pub mod response;
pub mod runtime;
mod signal;
pub mod streaming;
mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod utc;
pub mod xray;

pub use config::{Config, ConfigError, LogFormat};
pub use context::{
    ClientApplication, ClientContext, CognitoIdentity, Context, ContextBuilder, DeadlineExceeded,
    MAX_FUNCTION_TIMEOUT,
};
pub use error::{Diagnostic, Error, ErrorBody, error_type};
pub use handler::{Handler, HandlerFn, HandlerFnFuture, LambdaEvent, handler_fn};
pub use mode::Exit;
pub use runtime::Runtime;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
#[doc = include_str!("handler_macro.md")]
pub use lambda_kit_macros::handler;

/// The README's example, compiled as a doc test so that it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The async runtime lambda-kit runs on, for code that needs the same version.
pub use tokio;
/// The service traits handlers and layers are built from.
pub use tower;
