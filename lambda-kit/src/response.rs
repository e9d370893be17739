//! What a handler answers with, as the runtime posts it: [`IntoFunctionResponse`] turns a
//! handler's response into a [`FunctionResponse`], a buffered JSON body (every
//! `Serialize` type) or a stream (the types of [`streaming`](crate::streaming)).

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use http::HeaderValue;
use serde::Serialize;

use crate::error::{Error, error_type};
use crate::panic::guarded_sync;

/// A body of byte chunks, produced while the response is sent.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// What a handler's answer becomes: a buffered JSON body, or a stream.
pub enum FunctionResponse {
    /// The whole body at once.
    Buffered(Bytes),
    /// Chunks, posted as they come.
    Streamed(Streamed),
}

impl std::fmt::Debug for FunctionResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FunctionResponse::Buffered(body) => write!(f, "Buffered({} bytes)", body.len()),
            FunctionResponse::Streamed(streamed) => {
                write!(f, "Streamed({:?})", streamed.content_type)
            }
        }
    }
}

/// A response the runtime streams.
pub struct Streamed {
    pub(crate) content_type: HeaderValue,
    /// Chunks sent before the body (the HTTP prelude and its separator).
    pub(crate) preamble: Vec<Bytes>,
    pub(crate) body: ByteStream,
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamed")
            .field("content_type", &self.content_type)
            .field("preamble_chunks", &self.preamble.len())
            .finish_non_exhaustive()
    }
}

/// Anything a handler may answer with. Every `Serialize` type is buffered as JSON; the
/// streaming types are streamed.
#[diagnostic::on_unimplemented(
    message = "the response type `{Self}` cannot be sent back to Lambda",
    label = "derive `serde::Serialize` for this type",
    note = "write `#[derive(serde::Serialize)]` on it, return `serde_json::Value`, or stream with `lambda_kit::streaming::StreamResponse`"
)]
pub trait IntoFunctionResponse {
    /// The body to post.
    fn into_function_response(self) -> Result<FunctionResponse, Error>;
}

impl<T: Serialize> IntoFunctionResponse for T {
    fn into_function_response(self) -> Result<FunctionResponse, Error> {
        encode_response(&self).map(FunctionResponse::Buffered)
    }
}

/// Serializes the response, reporting a failing (or panicking) `Serialize` impl.
pub(crate) fn encode_response<R: Serialize>(response: &R) -> Result<Bytes, Error> {
    match guarded_sync("response serializer", || serde_json::to_vec(response))? {
        Ok(bytes) => Ok(Bytes::from(bytes)),
        Err(error) => Err(Error::new(
            error_type::MARSHAL,
            format!(
                "could not serialize the response of type {}: {error}",
                std::any::type_name::<R>()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Unserializable;

    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no way"))
        }
    }

    #[test]
    fn serialize_failures_are_marshal_errors() {
        let error = encode_response(&Unserializable).expect_err("an error");
        assert_eq!(error.error_type(), error_type::MARSHAL);
        assert!(error.message().contains("no way"));
    }
}
