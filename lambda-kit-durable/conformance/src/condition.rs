//! The wait_for_condition suite (6-x).

use std::convert::Infallible;
use std::time::Duration;

use lambda_kit_durable::{DurableContext, DurableError, PollStrategy, Serdes, WaitDecision};
use serde_json::{Value, json};

use crate::{RuntimeError, text};

/// Stops at `threshold`, else checks again in a second.
fn until(threshold: i64) -> impl FnOnce(&i64, u32) -> Result<WaitDecision, Infallible> {
    move |state, _| {
        Ok(if *state >= threshold {
            WaitDecision::Stop
        } else {
            WaitDecision::Continue(Duration::from_secs(1))
        })
    }
}

/// Adds one.
async fn increment(state: i64, _: lambda_kit_durable::StepContext) -> Result<i64, Infallible> {
    Ok(state + 1)
}

/// Writes `ENC:` before the text, and takes it off when reading it back (6-11).
struct Prefixed;

impl Serdes<String> for Prefixed {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(format!("ENC:{value}"))
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        Ok(text.strip_prefix("ENC:").unwrap_or(text).to_owned())
    }
}

/// Runs the wait_for_condition handler `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let number = text(event).trim().parse::<i64>().unwrap_or_default();
    let result = match case {
        "wait_for_condition_basic" => ctx
            .wait_for_condition("", 0, increment, until(number))
            .await
            .map(Value::from),
        "wait_for_condition_immediate" => ctx
            .wait_for_condition(
                "",
                number,
                |state, _| async move { Ok::<_, Infallible>(state) },
                until(5),
            )
            .await
            .map(Value::from),
        "wait_for_condition_with_name" => ctx
            .wait_for_condition("poll-status", 0, increment, until(number))
            .await
            .map(Value::from),
        "wait_for_condition_custom_initial_state" => ctx
            .wait_for_condition("", 5, increment, until(number))
            .await
            .map(Value::from),
        "wait_for_condition_fixed_delay" => {
            let strategy = PollStrategy::default()
                .initial_delay(Duration::from_secs(2))
                .backoff_rate(1.0)
                .without_jitter();
            ctx.wait_for_condition("", 0, increment, |state, attempt| {
                strategy.decide(*state < number, attempt)
            })
            .await
            .map(Value::from)
        }
        "wait_for_condition_max_attempts" => {
            let strategy = PollStrategy::default()
                .max_attempts(3)
                .initial_delay(Duration::from_secs(1))
                .backoff_rate(1.0)
                .without_jitter();
            ctx.wait_for_condition("", 0, increment, |_, attempt| {
                strategy.decide(true, attempt)
            })
            .await
            .map(Value::from)
        }
        "wait_for_condition_check_throws" => throwing_check(ctx).await,
        "wait_for_condition_check_throws_caught" => match throwing_check(ctx).await {
            Err(error) if error.ends_invocation() => Err(error),
            _ => Ok(json!("recovered")),
        },
        "wait_for_condition_complex_object" => {
            ctx.wait_for_condition(
                "",
                json!({"status": "PENDING", "attempts": 0}),
                |state, _| async move {
                    let attempts = state["attempts"].as_i64().unwrap_or_default() + 1;
                    let status = if attempts >= 2 { "DONE" } else { "PENDING" };
                    Ok::<_, Infallible>(json!({"status": status, "attempts": attempts}))
                },
                |state, _| {
                    Ok::<_, Infallible>(if state["status"] == "DONE" {
                        WaitDecision::Stop
                    } else {
                        WaitDecision::Continue(Duration::from_secs(1))
                    })
                },
            )
            .await
        }
        "wait_for_condition_null_result" => {
            ctx.wait_for_condition(
                "",
                Value::Null,
                |_, _| async { Ok::<_, Infallible>(Value::Null) },
                |_, _| Ok::<_, Infallible>(WaitDecision::Stop),
            )
            .await
        }
        "wait_for_condition_custom_serdes" => ctx
            .wait_for_condition_with_serdes(
                "",
                String::new(),
                &Prefixed,
                |state, _| async move { Ok::<_, Infallible>(state + "x") },
                |state: &String, _| {
                    Ok::<_, Infallible>(if state.len() >= 2 {
                        WaitDecision::Stop
                    } else {
                        WaitDecision::Continue(Duration::from_secs(1))
                    })
                },
            )
            .await
            .map(Value::String),
        "wait_for_condition_then_step" => {
            match ctx
                .wait_for_condition("", 0, increment, until(number))
                .await
            {
                Ok(polled) => ctx
                    .step(
                        "multiply",
                        |_| async move { Ok::<_, RuntimeError>(polled * 10) },
                    )
                    .await
                    .map(Value::from),
                Err(error) => Err(error),
            }
        }
        "wait_for_condition_multiple_sequential" => {
            match ctx.wait_for_condition("", 0, increment, until(2)).await {
                Ok(first) => ctx
                    .wait_for_condition("", first, increment, until(4))
                    .await
                    .map(Value::from),
                Err(error) => Err(error),
            }
        }
        _ => return None,
    };
    Some(result)
}

/// A condition whose check fails with "check function failed".
async fn throwing_check(ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.wait_for_condition(
        "",
        Value::Null,
        |_, _| async { Err::<Value, _>(RuntimeError("check function failed".to_owned())) },
        |_, _| Ok::<_, Infallible>(WaitDecision::Stop),
    )
    .await
}
