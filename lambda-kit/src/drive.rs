//! The path every invocation takes, wherever it comes from: decode the payload, call the
//! handler service, encode the response, and turn every failure (including a panic) into
//! an [`Error`]. The runtime loop, the local one-shot mode and `testing::invoke` all use
//! this one function, so what a test sees is what Lambda sees.

use std::future::poll_fn;

use serde::de::DeserializeOwned;
use tower::Service;

use crate::context::Context;
use crate::error::{Error, error_type};
use crate::handler::{Handler, LambdaEvent};
use crate::panic::guarded;
use crate::response::{FunctionResponse, IntoFunctionResponse};

/// A handler service that can be driven from the wire: a [`Handler<E, R>`] whose event `E`
/// decodes from the invocation's JSON and whose response `R` encodes into the answer.
///
/// One name for the three bounds every driver (the loop, `--event`, the testing kit)
/// needs; every such handler implements it. The bounds on `E` and `R` live in the impl, so
/// a function generic over `S: Drivable<E, R>` does not repeat them.
pub(crate) trait Drivable<E, R>: Handler<E, R> {
    /// Decodes an invocation's payload into the event.
    fn decode_event(payload: &[u8]) -> Result<E, Error>;

    /// Encodes the handler's response into what is posted.
    fn encode_response(response: R) -> Result<FunctionResponse, Error>;
}

impl<S, E, R> Drivable<E, R> for S
where
    S: Handler<E, R>,
    E: DeserializeOwned,
    R: IntoFunctionResponse,
{
    fn decode_event(payload: &[u8]) -> Result<E, Error> {
        decode_event(payload)
    }

    fn encode_response(response: R) -> Result<FunctionResponse, Error> {
        response.into_function_response()
    }
}

/// Runs one invocation of `service` and returns the encoded response or the error to report.
pub(crate) async fn drive<S, E, R>(
    service: &mut S,
    payload: &[u8],
    context: Context,
) -> Result<FunctionResponse, Error>
where
    S: Drivable<E, R>,
{
    let event = S::decode_event(payload)?;
    let response = call(service, LambdaEvent::new(event, context)).await?;
    S::encode_response(response)
}

/// Decodes the payload, naming the path of the first field that did not fit.
pub(crate) fn decode_event<E: DeserializeOwned>(payload: &[u8]) -> Result<E, Error> {
    // Tracking the path costs an allocation per field, so only a payload that failed pays
    // for it, by being decoded a second time.
    match serde_json::from_slice(payload) {
        Ok(event) => Ok(event),
        Err(_) => Err(decode_error::<E>(payload)),
    }
}

/// Why `payload` is not an `E`, with the path of the first field that did not fit.
#[cold]
fn decode_error<E: DeserializeOwned>(payload: &[u8]) -> Error {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    match serde_path_to_error::deserialize::<_, E>(&mut deserializer) {
        Ok(_) => match deserializer.end() {
            Ok(()) => Error::new(error_type::UNMARSHAL, "the event could not be decoded"),
            Err(error) => unmarshal_error::<E>(".", &error),
        },
        Err(error) => unmarshal_error::<E>(&error.path().to_string(), error.inner()),
    }
}

fn unmarshal_error<E>(path: &str, error: &serde_json::Error) -> Error {
    let at = if path == "." {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    Error::new(
        error_type::UNMARSHAL,
        format!(
            "could not decode the event as {}{at}: {error}",
            std::any::type_name::<E>()
        ),
    )
}

/// Calls the service, catching a panic in `poll_ready`, `call` or the returned future.
async fn call<S, E>(service: &mut S, event: LambdaEvent<E>) -> Result<S::Response, Error>
where
    S: Service<LambdaEvent<E>>,
    S::Error: Into<Error>,
{
    let ready = guarded("handler", || poll_fn(|cx| service.poll_ready(cx))).await?;
    if let Err(error) = ready {
        let error: Error = error.into();
        return Err(Error::new(
            error_type::NOT_READY,
            format!("the handler could not take the invocation: {error}"),
        ));
    }
    guarded("handler", || service.call(event))
        .await?
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::handler_fn;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Order {
        id: String,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        amount: u32,
    }

    #[test]
    fn decode_errors_name_the_failing_path() {
        let error = decode_event::<Order>(br#"{"id":"a","items":[{"amount":1},{"amount":"x"}]}"#)
            .expect_err("an error");
        assert_eq!(error.error_type(), error_type::UNMARSHAL);
        assert!(
            error.message().contains("`items[1].amount`"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn trailing_garbage_is_a_decode_error() {
        let error = decode_event::<serde_json::Value>(b"{} {}").expect_err("an error");
        assert_eq!(error.error_type(), error_type::UNMARSHAL);
        assert!(error.message().contains("trailing"), "{}", error.message());
    }

    #[tokio::test]
    async fn panics_in_the_handler_future_become_errors() {
        let mut service = handler_fn(|_: serde_json::Value, _| async {
            if true {
                panic!("boom");
            }
            Ok::<_, Error>(())
        });
        let error = drive(&mut service, b"{}", Context::builder().build())
            .await
            .expect_err("an error");
        assert_eq!(error.error_type(), error_type::PANIC);
        assert!(error.message().contains("boom"));
    }

    #[tokio::test]
    async fn panics_while_creating_the_future_become_errors() {
        let mut service = handler_fn(
            |_: serde_json::Value, _| -> std::future::Ready<Result<(), Error>> {
                panic!("eager {}", 42)
            },
        );
        let error = drive(&mut service, b"{}", Context::builder().build())
            .await
            .expect_err("an error");
        assert_eq!(error.error_type(), error_type::PANIC);
        assert!(error.message().contains("eager 42"));
    }
}
