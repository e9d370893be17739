//! Form `#[lambda_kit::handler(sequential)]`: one invocation at a time, so the handler may
//! hold what is not `Send` (an `Rc`) across an `.await`.

use std::rc::Rc;

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

#[lambda_kit::handler(sequential)]
async fn count(event: Value, _ctx: Context) -> Result<Value, Error> {
    let shared = Rc::new(event);
    lambda_kit::tokio::task::yield_now().await;
    Ok(json!({"echo": *shared, "holders": Rc::strong_count(&shared)}))
}

#[cfg(test)]
mod tests {
    use lambda_kit::testing::invoke;
    use serde_json::json;

    #[tokio::test]
    async fn a_sequential_handler_is_invoked_in_one_line() {
        let response = invoke(super::count_handler(), json!(1))
            .await
            .expect_response();
        assert_eq!(response, json!({"echo": 1, "holders": 1}));
    }
}
