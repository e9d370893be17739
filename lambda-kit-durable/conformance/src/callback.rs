//! The callback (4-x) and wait_for_callback (7-x) suites.

use std::convert::Infallible;
use std::time::Duration;

use lambda_kit_durable::{CallbackConfig, DurableContext, DurableError, RetryStrategy, StepConfig};
use serde_json::{Value, json};

use crate::{RuntimeError, text};

/// The callback's result as the handler answers it: the text sent, or `null`.
fn sent(result: Result<Option<String>, DurableError>) -> Result<Value, DurableError> {
    result.map(|text| text.map_or(Value::Null, Value::String))
}

/// The JSON the callback sent.
fn sent_json(result: Result<Option<String>, DurableError>) -> Result<Value, DurableError> {
    let text = result?.unwrap_or_default();
    serde_json::from_str(&text).map_err(|error| DurableError::Serialization {
        name: "callback result".to_owned(),
        message: error.to_string(),
    })
}

/// A submitter that only takes the id.
async fn submit(_id: String) -> Result<(), Infallible> {
    Ok(())
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Runs the callback handler `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let name = text(event);
    let plain = CallbackConfig::default;
    let result = match case {
        // 4-x
        "callback_basic" | "callback_failure" => match ctx.create_callback(&name, plain()).await {
            Ok(callback) => sent(callback.result()),
            Err(error) => Err(error),
        },
        "callback_with_name" => match ctx.create_callback("approval", plain()).await {
            Ok(callback) => sent(callback.result()),
            Err(error) => Err(error),
        },
        "callback_timeout" => match ctx.create_callback(&name, plain().timeout(seconds(5))).await {
            Ok(callback) => sent(callback.result()),
            Err(error) => Err(error),
        },
        "callback_heartbeat_timeout" => {
            match ctx.create_callback(&name, plain().heartbeat_timeout(seconds(5))).await {
                Ok(callback) => sent(callback.result()),
                Err(error) => Err(error),
            }
        }
        "callback_heartbeat_success" => {
            match ctx.create_callback(&name, plain().heartbeat_timeout(seconds(10))).await {
                Ok(callback) => sent(callback.result()),
                Err(error) => Err(error),
            }
        }
        "callback_step_failure" | "callback_step_timeout" => {
            let config = if case == "callback_step_timeout" {
                plain().timeout(seconds(5))
            } else {
                plain()
            };
            match ctx.create_callback(&name, config).await {
                Ok(callback) => {
                    let notified = ctx
                        .step("notify-external", |_| async {
                            Ok::<_, RuntimeError>(json!("notified"))
                        })
                        .await;
                    match notified {
                        Ok(_) => sent(callback.result()),
                        Err(error) => Err(error),
                    }
                }
                Err(error) => Err(error),
            }
        }
        "callback_wait_success" | "callback_wait_failure" | "callback_wait_timeout" => {
            let (config, delay) = if case == "callback_wait_timeout" {
                (plain().timeout(seconds(3)), 6)
            } else {
                (plain(), 5)
            };
            match ctx.create_callback(&name, config).await {
                Ok(callback) => match ctx.wait("delay", seconds(delay)).await {
                    Ok(()) => sent(callback.result()),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            }
        }
        "callback_replay_with_wait" => match ctx.create_callback(&name, plain()).await {
            Ok(callback) => match callback.result() {
                Ok(result) => match ctx.wait("after-cb", seconds(2)).await {
                    Ok(()) => sent(Ok(result)),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        },
        "callback_replay_failure" | "callback_replay_timeout" => {
            let (config, label) = if case == "callback_replay_timeout" {
                (plain().timeout(seconds(3)), "caught_timeout")
            } else {
                (plain(), "caught_failure")
            };
            match ctx.create_callback(&name, config).await {
                Ok(callback) => {
                    let outcome = match callback.result() {
                        Ok(result) => result.unwrap_or_default(),
                        Err(error) if error.ends_invocation() => return Some(Err(error)),
                        Err(error) => format!("{label}:{error}"),
                    };
                    match ctx.wait("after-cb", seconds(2)).await {
                        Ok(()) => Ok(json!(outcome)),
                        Err(error) => Err(error),
                    }
                }
                Err(error) => Err(error),
            }
        }
        "callback_serdes_happy" => match ctx.create_callback(&name, plain()).await {
            Ok(callback) => sent_json(callback.result()).map(|data| {
                let timestamp = data["timestamp"].as_str().unwrap_or_default();
                let seconds = humantime::parse_rfc3339_weak(timestamp.trim_end_matches('Z'))
                    .ok()
                    .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |since| since.as_secs());
                json!({"received": {"id": data["id"], "message": data["message"], "timestamp": seconds}})
            }),
            Err(error) => Err(error),
        },
        "callback_serdes_numeric" => match ctx.create_callback(&name, plain()).await {
            Ok(callback) => sent_json(callback.result()).map(|value| {
                let count = value.as_i64().unwrap_or_default();
                json!({"count": count, "doubled": count * 2})
            }),
            Err(error) => Err(error),
        },
        "callback_two_sequential" | "callback_two_parallel" | "callback_two_parallel_reverse" => {
            two_callbacks(ctx, case, event).await
        }
        // 7-x
        "wait_for_callback_basic" | "wait_for_callback_external_failure" => {
            sent(ctx.wait_for_callback(&name, plain(), submit).await)
        }
        "wait_for_callback_explicit_name" => {
            sent(ctx.wait_for_callback("approval", plain(), submit).await)
        }
        "wait_for_callback_anonymous" => sent(ctx.wait_for_callback("", plain(), submit).await),
        "wait_for_callback_timeout" => {
            sent(ctx.wait_for_callback(&name, plain().timeout(seconds(3)), submit).await)
        }
        "wait_for_callback_failure_caught" | "wait_for_callback_timeout_caught" => {
            let (config, recovered) = if case == "wait_for_callback_timeout_caught" {
                (plain().timeout(seconds(3)), "timed-out-handled")
            } else {
                (plain(), "recovered")
            };
            match ctx.wait_for_callback(&name, config, submit).await {
                Ok(result) => sent(Ok(result)),
                Err(error) if error.ends_invocation() => Err(error),
                Err(_) => Ok(json!(recovered)),
            }
        }
        "wait_for_callback_submitter_retry_exhaustion" => {
            let retry = RetryStrategy::default()
                .max_attempts(2)
                .initial_delay(seconds(1))
                .max_delay(seconds(1));
            let config = plain().submitter(StepConfig::default().retry(retry));
            sent(
                ctx.wait_for_callback(&name, config, |_| async {
                    Err::<(), _>(RuntimeError("submitter failure".to_owned()))
                })
                .await,
            )
        }
        "wait_for_callback_in_child_context" => ctx
            .run_in_child_context("wrapper", |child| async move {
                sent(child.wait_for_callback(&name, CallbackConfig::default(), submit).await)
            })
            .await,
        "wait_for_callback_two_sequential" => {
            match ctx.wait_for_callback("first", plain(), submit).await {
                Ok(_) => sent(ctx.wait_for_callback("second", plain(), submit).await),
                Err(error) => Err(error),
            }
        }
        "wait_for_callback_mixed_ops" => {
            let before = async {
                ctx.wait("", seconds(1)).await?;
                ctx.step("", |_| async { Ok::<_, RuntimeError>(json!("fixed-data")) })
                    .await
            };
            match before.await {
                Ok(_) => sent(ctx.wait_for_callback(&name, plain(), submit).await),
                Err(error) => Err(error),
            }
        }
        "wait_for_callback_json_result" => {
            sent_json(ctx.wait_for_callback(&name, plain(), submit).await)
                .map(|value| value["status"].clone())
        }
        "wait_for_callback_heartbeat_timeout" => sent(
            ctx.wait_for_callback(&name, plain().heartbeat_timeout(seconds(5)), submit)
                .await,
        ),
        "wait_for_callback_heartbeat_then_success" => sent(
            ctx.wait_for_callback(&name, plain().heartbeat_timeout(seconds(10)), submit)
                .await,
        ),
        "wait_for_callback_null_result" => {
            sent(ctx.wait_for_callback(&name, plain(), submit).await)
        }
        _ => return None,
    };
    Some(result)
}

/// Two callbacks named by the event's two strings, created and awaited in the case's order.
async fn two_callbacks(
    ctx: &DurableContext,
    case: &str,
    event: &Value,
) -> Result<Value, DurableError> {
    let first = event[0].as_str().unwrap_or_default();
    let second = event[1].as_str().unwrap_or_default();
    let (a, b) = if case == "callback_two_sequential" {
        let a = ctx
            .create_callback(first, CallbackConfig::default())
            .await?
            .result()?;
        let b = ctx
            .create_callback(second, CallbackConfig::default())
            .await?
            .result()?;
        (a, b)
    } else {
        let callback_a = ctx
            .create_callback(first, CallbackConfig::default())
            .await?;
        let callback_b = ctx
            .create_callback(second, CallbackConfig::default())
            .await?;
        if case == "callback_two_parallel_reverse" {
            let b = callback_b.result()?;
            (callback_a.result()?, b)
        } else {
            let a = callback_a.result()?;
            (a, callback_b.result()?)
        }
    };
    Ok(json!({"a": a, "b": b}))
}
