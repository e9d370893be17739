//! Form `(event) -> Result<(), E>` where `E` implements `Diagnostic`.

use std::borrow::Cow;

use lambda_kit::Diagnostic;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("order {0} refused")]
struct Refused(String);

impl Diagnostic for Refused {
    fn error_type(&self) -> Cow<'_, str> {
        "Order.Refused".into()
    }
}

#[lambda_kit::handler]
async fn accept(event: Value) -> Result<(), Refused> {
    match event["refuse"].as_str() {
        Some(order) => Err(Refused(order.to_owned())),
        None => Ok(()),
    }
}

// The macro's `<name>_handler()` is the service `main` serves: one line per test.
#[cfg(test)]
mod tests {
    use lambda_kit::testing::invoke;
    use serde_json::json;

    #[tokio::test]
    async fn refusals_carry_their_error_type() {
        let error = invoke(super::accept_handler(), json!({"refuse": "o-1"}))
            .await
            .expect_error();
        assert_eq!(error.error_type, "Order.Refused");
    }
}
