//! Form `(event, ctx: &Context)` on the default (current-thread) flavor.

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

#[lambda_kit::handler]
async fn describe(event: Value, ctx: &Context) -> Result<Value, Error> {
    let flavor = format!(
        "{:?}",
        lambda_kit::tokio::runtime::Handle::current().runtime_flavor()
    );
    Ok(json!({"requestId": ctx.request_id(), "event": event, "flavor": flavor}))
}

#[cfg(test)]
mod tests {
    use lambda_kit::testing::invoke;
    use serde_json::json;

    #[tokio::test]
    async fn a_borrowed_context_form_is_invoked_in_one_line() {
        let response = invoke(super::describe_handler(), json!({"n": 1}))
            .await
            .expect_response();
        assert_eq!(response["event"], json!({"n": 1}));
    }
}
