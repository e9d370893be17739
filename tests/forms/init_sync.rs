//! Form `(event, ctx: Context, state: &S)` with a plain (not async) init fn.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_kit::{Context, Error};
use serde_json::{Value, json};

static SETUPS: AtomicUsize = AtomicUsize::new(0);

struct Greeting(String);

fn setup() -> Result<Greeting, Infallible> {
    SETUPS.fetch_add(1, Ordering::SeqCst);
    Ok(Greeting(
        std::env::var("GREETING").unwrap_or_else(|_| "Hello".into()),
    ))
}

#[lambda_kit::handler(init = setup)]
async fn greet(event: Value, _ctx: Context, greeting: &Greeting) -> Result<Value, Error> {
    Ok(json!({
        "message": format!("{}, {}!", greeting.0, event["name"].as_str().unwrap_or("world")),
        "setups": SETUPS.load(Ordering::SeqCst),
    }))
}

#[cfg(test)]
mod tests {
    use lambda_kit::testing::{invoke, state};
    use serde_json::json;

    #[tokio::test]
    async fn a_stateful_form_is_invoked_with_a_state_of_the_tests_choosing() {
        let greeting = state(super::Greeting("Hi".into()));
        let response = invoke(super::greet_handler(greeting), json!({"name": "Ada"}))
            .await
            .expect_response();
        assert_eq!(response["message"], "Hi, Ada!");
    }
}
