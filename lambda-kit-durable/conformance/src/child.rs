//! The child-context suite (3-x). Contexts and steps are named after the reference
//! handlers' functions where those give no name.

use std::time::Duration;

use lambda_kit_durable::{DurableContext, DurableError, RetryStrategy, StepConfig};
use serde_json::{Value, json};

use crate::{RuntimeError, Uppercase, text, then_wait};

/// A step returning `value`.
async fn echo(ctx: &DurableContext, name: &str, value: &str) -> Result<String, DurableError> {
    let value = value.to_owned();
    ctx.step(name, |_| async move { Ok::<_, RuntimeError>(value) })
        .await
}

/// A step that fails with "Child step failed", not retried.
async fn failing(ctx: &DurableContext) -> Result<String, DurableError> {
    let config = StepConfig::default().retry(RetryStrategy::none());
    ctx.step_with("failing_step", config, |_| async {
        Err::<String, _>(RuntimeError("Child step failed".to_owned()))
    })
    .await
}

/// Counts one more attempt of `execution` in the attempts table (3-12), as the reference
/// handler does: the count survives a crash of the process.
async fn count_attempt(execution: &str) -> Result<u64, RuntimeError> {
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
    let table = std::env::var("ATTEMPTS_TABLE_NAME").unwrap_or_else(|_| "Attempts".to_owned());
    let config = aws_config::load_from_env().await;
    let answer = aws_sdk_dynamodb::Client::new(&config)
        .update_item()
        .table_name(table)
        .key("executionId", AttributeValue::S(execution.to_owned()))
        .update_expression("SET attemptCount = if_not_exists(attemptCount, :zero) + :one")
        .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|error| RuntimeError(format!("the attempts table: {error}")))?;
    answer
        .attributes()
        .and_then(|attributes| attributes.get("attemptCount"))
        .and_then(|count| count.as_n().ok())
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| RuntimeError("the attempts table gave no count".to_owned()))
}

/// Runs the child-context handler `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let input = text(event);
    let result = match case {
        "child_basic" => ctx
            .run_in_child_context("child_operation", |child| async move {
                echo(&child, "child_step", &input).await
            })
            .await
            .map(Value::String),
        "child_with_name" => {
            let name = event["name"].as_str().unwrap_or_default().to_owned();
            let value = event["value"].as_str().unwrap_or_default().to_owned();
            ctx.run_in_child_context(&name, |child| async move {
                echo(&child, "child_step", &value).await
            })
            .await
            .map(Value::String)
        }
        "child_multiple_steps" => ctx
            .run_in_child_context("multi-step", |child| async move {
                let first = echo(&child, "first_step", &input).await?;
                echo(&child, "second_step", &first).await
            })
            .await
            .map(Value::String),
        "child_error" => ctx
            .run_in_child_context(
                "failing-child",
                |child| async move { failing(&child).await },
            )
            .await
            .map(Value::String),
        "child_error_caught" => {
            let failed = ctx
                .run_in_child_context(
                    "failing_child",
                    |child| async move { failing(&child).await },
                )
                .await;
            if let Err(error) = failed
                && error.ends_invocation()
            {
                return Some(Err(error));
            }
            echo(ctx, "recovery_step", &input).await.map(Value::String)
        }
        "child_nested" => ctx
            .run_in_child_context("outer", |outer| async move {
                echo(&outer, "outer_step", &input).await?;
                outer
                    .run_in_child_context("inner", |inner| async move {
                        echo(&inner, "inner_step", &input).await
                    })
                    .await
            })
            .await
            .map(Value::String),
        "child_retry" => ctx
            .run_in_child_context("retry-child", |child| async move {
                let strategy = RetryStrategy::default()
                    .max_attempts(3)
                    .initial_delay(Duration::from_secs(5))
                    .max_delay(Duration::from_secs(300))
                    .retry_error_types(["RuntimeError"]);
                let config = StepConfig::default().retry(strategy);
                child
                    .step_with("unreliable_step", config, |step| async move {
                        if step.attempt < 2 {
                            return Err(RuntimeError(format!("Attempt {} failed", step.attempt)));
                        }
                        Ok(input)
                    })
                    .await
            })
            .await
            .map(Value::String),
        "child_retry_exhaustion" => ctx
            .run_in_child_context("exhaust-child", |child| async move {
                let strategy = RetryStrategy::default()
                    .max_attempts(2)
                    .initial_delay(Duration::from_secs(1))
                    .backoff_rate(1.0)
                    .without_jitter();
                let config = StepConfig::default().retry(strategy);
                child
                    .step_with("always_fail", config, |_| async {
                        Err::<String, _>(RuntimeError("Always fails".to_owned()))
                    })
                    .await
            })
            .await
            .map(Value::String),
        "child_replay" => {
            let result = ctx
                .run_in_child_context("cached_child", |child| async move {
                    echo(&child, "compute_step", &input).await
                })
                .await;
            then_wait(ctx, result, 2).await
        }
        "child_step_and_wait" => ctx
            .run_in_child_context("mixed-ops", |child| async move {
                echo(&child, "compute_step", &input).await?;
                child.wait("", Duration::from_secs(2)).await?;
                Ok(input)
            })
            .await
            .map(Value::String),
        // 3-12: the process ends mid-step on the first attempt; the replay runs the step again.
        "child_interrupted" => {
            let execution = ctx.execution_arn().to_owned();
            ctx.run_in_child_context("interrupted_child", |child| async move {
                let config = StepConfig::default().retry(RetryStrategy::none());
                child
                    .step_with("crashable_step", config, |_| async move {
                        if count_attempt(&execution).await? < 2 {
                            std::process::exit(1);
                        }
                        Ok::<_, RuntimeError>(input)
                    })
                    .await
            })
            .await
            .map(Value::String)
        }
        "child_large_payload" => {
            let result = ctx
                .run_in_child_context("large-data-processor", |child| async move {
                    // Logged on every run, replays included: they rebuild the result.
                    tracing::info!("{input}");
                    let data = child
                        .step("generate_data", |_| async {
                            Ok::<_, RuntimeError>("A".repeat(50 * 1024))
                        })
                        .await?;
                    Ok(data.repeat(6))
                })
                .await;
            match result {
                Ok(large) => {
                    let size = large.len();
                    then_wait(ctx, Ok(json!({"success": true, "dataSize": size})), 2).await
                }
                Err(error) => Err(error),
            }
        }
        "child_wait_replay" => {
            let value = input.clone();
            let waited = ctx
                .run_in_child_context("wait-child", |child| async move {
                    child.wait("", Duration::from_secs(1)).await?;
                    Ok(value)
                })
                .await;
            match waited {
                Ok(_) => echo(ctx, "after_child_step", &input)
                    .await
                    .map(Value::String),
                Err(error) => Err(error),
            }
        }
        "child_custom_serdes" => ctx
            .run_in_child_context_with_serdes("serdes-child", &Uppercase, |child| async move {
                echo(&child, "return_input", &input).await
            })
            .await
            .map(Value::String),
        "child_error_no_step" => ctx
            .run_in_child_context("direct-error", |_| async {
                Err::<String, _>(DurableError::failed("RuntimeError", "direct error"))
            })
            .await
            .map(Value::String),
        "child_null_result" => {
            ctx.run_in_child_context("null-child", |_| async { Ok(Value::Null) })
                .await
        }
        "child_print_only" => {
            let result = ctx
                .run_in_child_context("print-child", |_| async move {
                    tracing::info!("{input}");
                    Ok(input)
                })
                .await;
            then_wait(ctx, result.map(Value::String), 1).await
        }
        "child_step_wait_after" => {
            let value = input.clone();
            let inner = ctx
                .run_in_child_context("step-wait-child", |child| async move {
                    echo(&child, "inner_step", &value).await?;
                    child.wait("", Duration::from_secs(2)).await?;
                    Ok(value)
                })
                .await;
            match inner {
                Ok(_) => {
                    let result = echo(ctx, "outer_step", &input).await;
                    then_wait(ctx, result.map(Value::String), 2).await
                }
                Err(error) => Err(error),
            }
        }
        _ => return None,
    };
    Some(result)
}
