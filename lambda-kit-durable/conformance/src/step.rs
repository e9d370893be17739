//! The step suite (1-x). Steps are named after the reference handlers' step functions, and
//! errors are of types named as theirs, since the history records both.

use std::time::Duration;

use lambda_kit_durable::{DurableContext, DurableError, RetryStrategy, StepConfig, StepSemantics};
use serde_json::{Value, json};

use crate::{RuntimeError, Uppercase, text};

/// A failure worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransientError(String);

fn no_retry() -> StepConfig {
    StepConfig::default().retry(RetryStrategy::none())
}

/// The reference's `RetryStrategyConfig` defaults: 3 attempts, 5 s doubling to 5 minutes,
/// full jitter.
fn strategy_config() -> RetryStrategy {
    RetryStrategy::default()
        .max_attempts(3)
        .initial_delay(Duration::from_secs(5))
        .max_delay(Duration::from_secs(300))
}

/// Runs the step handler `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let result = match case {
        "step_basic" => greet(ctx, "greet", event).await,
        "step_with_name" => greet(ctx, "custom_step_name", event).await,
        "step_nested" => nested(ctx).await,
        "step_complex_object" => complex_object(ctx, event).await,
        "step_null_result" => {
            ctx.step("do_nothing", |_| async {
                Ok::<_, RuntimeError>(Value::Null)
            })
            .await
        }
        "step_custom_serdes" => {
            let input = text(event);
            ctx.step_with_serdes(
                "return_input",
                StepConfig::default(),
                &Uppercase,
                |_| async { Ok::<_, RuntimeError>(input) },
            )
            .await
            .map(Value::String)
        }
        "step_logging" => logged_greet(ctx, event).await,
        "step_and_wait_replay" => step_then_wait(ctx, "compute", None, "computed", 2).await,
        "step_replay_skips_succeeded" => {
            step_then_wait(
                ctx,
                "compute_with_log",
                Some("step executed"),
                "cached_value",
                1,
            )
            .await
        }
        "step_replay_rethrows_failed" => rethrows_failed(ctx).await,
        "step_with_retry" => {
            let config =
                StepConfig::default().retry(strategy_config().retry_error_types(["RuntimeError"]));
            fails_until(
                ctx,
                "unreliable_operation",
                config,
                2,
                "Operation succeeded",
            )
            .await
        }
        "step_retry_exhaustion" => {
            let strategy = RetryStrategy::default()
                .max_attempts(4)
                .initial_delay(Duration::from_secs(1))
                .backoff_rate(1.0)
                .without_jitter();
            let config = StepConfig::default().retry(strategy);
            ctx.step_with("always_fail", config, |_| async {
                Err::<Value, _>(RuntimeError("Always fails".to_owned()))
            })
            .await
        }
        "step_default_retry" => {
            fails_until(ctx, "unreliable", StepConfig::default(), 3, "recovered").await
        }
        "step_retry_custom_config" => {
            let strategy = RetryStrategy::default()
                .max_attempts(5)
                .initial_delay(Duration::from_secs(2))
                .backoff_rate(3.0)
                .without_jitter();
            let config = StepConfig::default().retry(strategy);
            fails_until(ctx, "flaky", config, 3, "finally succeeded").await
        }
        "step_retry_specific_exception" => {
            let strategy = strategy_config()
                .initial_delay(Duration::from_secs(1))
                .retry_error_types(["TransientError"]);
            let config = StepConfig::default().retry(strategy);
            ctx.step_with("transient_on_first", config, |step| async move {
                if step.attempt < 2 {
                    return Err(TransientError("Temporary failure".to_owned()));
                }
                Ok(json!("recovered from transient"))
            })
            .await
        }
        "step_retry_non_retryable" => {
            let strategy = strategy_config()
                .initial_delay(Duration::from_secs(1))
                .retry_error_types(["ValidationError"]);
            let config = StepConfig::default().retry(strategy);
            ctx.step_with("throw_transient", config, |_| async {
                Err::<Value, _>(TransientError("transient failure".to_owned()))
            })
            .await
        }
        "step_at_most_once_no_retry" => {
            let config = no_retry().semantics(StepSemantics::AtMostOncePerRetry);
            crashes_until(ctx, "at_most_once_flaky_step", config, event, u32::MAX).await
        }
        "step_at_most_once_with_retry" => {
            let strategy = strategy_config().initial_delay(Duration::from_secs(1));
            let config = StepConfig::default()
                .retry(strategy)
                .semantics(StepSemantics::AtMostOncePerRetry);
            crashes_until(ctx, "at_most_once_step", config, event, 2).await
        }
        "step_with_error" => {
            ctx.step_with("failing_step", no_retry(), |_| async {
                Err::<Value, _>(RuntimeError("Something went wrong".to_owned()))
            })
            .await
        }
        "step_error_caught" => {
            let failed = ctx
                .step_with("failing_step", no_retry(), |_| async {
                    Err::<Value, _>(RuntimeError("Something went wrong".to_owned()))
                })
                .await;
            if let Err(error @ DurableError::Suspended { .. }) = failed {
                return Some(Err(error));
            }
            ctx.step("fallback_step", |_| async {
                Ok::<_, RuntimeError>(json!("fallback_result"))
            })
            .await
        }
        _ => return None,
    };
    Some(result)
}

async fn greet(ctx: &DurableContext, name: &str, event: &Value) -> Result<Value, DurableError> {
    let who = text(event);
    ctx.step(name, |_| async move {
        Ok::<_, RuntimeError>(json!(format!("Hello, {who}!")))
    })
    .await
}

async fn logged_greet(ctx: &DurableContext, event: &Value) -> Result<Value, DurableError> {
    let who = text(event);
    ctx.step("greet", |_| async move {
        tracing::info!("Greeting step started for: {who}");
        let result = format!("Hello, {who}!");
        tracing::info!("Greeting step completed with: {result}");
        Ok::<_, RuntimeError>(json!(result))
    })
    .await
}

async fn nested(ctx: &DurableContext) -> Result<Value, DurableError> {
    let first: String = ctx
        .step("step_one", |_| async {
            Ok::<_, RuntimeError>("first".to_owned())
        })
        .await?;
    ctx.step("step_two", |_| async move {
        Ok::<_, RuntimeError>(json!(format!("{first}_second")))
    })
    .await
}

async fn complex_object(ctx: &DurableContext, event: &Value) -> Result<Value, DurableError> {
    let name = event["name"].clone();
    let tags = event["tags"].clone();
    ctx.step("build_response", |_| async move {
        let count = tags.as_array().map_or(0, Vec::len);
        Ok::<_, RuntimeError>(json!({"user": {"name": name, "tags": tags}, "count": count}))
    })
    .await
}

/// A step answering `value` (logging `log` when it runs), then a wait.
async fn step_then_wait(
    ctx: &DurableContext,
    name: &str,
    log: Option<&'static str>,
    value: &'static str,
    wait_seconds: u64,
) -> Result<Value, DurableError> {
    let result = ctx
        .step(name, |_| async move {
            if let Some(line) = log {
                tracing::info!("{line}");
            }
            Ok::<_, RuntimeError>(json!(value))
        })
        .await?;
    ctx.wait("", Duration::from_secs(wait_seconds)).await?;
    Ok(result)
}

async fn rethrows_failed(ctx: &DurableContext) -> Result<Value, DurableError> {
    let failed = ctx
        .step_with("failing_with_log", no_retry(), |_| async {
            tracing::info!("step executed");
            Err::<Value, _>(RuntimeError("Something went wrong".to_owned()))
        })
        .await;
    let message = match failed {
        Err(error @ DurableError::Suspended { .. }) => return Err(error),
        Err(error) => error.to_string(),
        Ok(_) => String::new(),
    };
    ctx.wait("", Duration::from_secs(1)).await?;
    Ok(json!(format!("caught: {message}")))
}

/// A step whose attempts before `succeeds_at` fail with "Attempt <n> failed".
async fn fails_until(
    ctx: &DurableContext,
    name: &str,
    config: StepConfig,
    succeeds_at: u32,
    value: &'static str,
) -> Result<Value, DurableError> {
    ctx.step_with(name, config, |step| async move {
        if step.attempt < succeeds_at {
            return Err(RuntimeError(format!("Attempt {} failed", step.attempt)));
        }
        Ok(json!(value))
    })
    .await
}

/// A step that logs the input, then ends the process (a crash, as Lambda sees
/// `Runtime.ExitError`) on attempts before `succeeds_at`.
async fn crashes_until(
    ctx: &DurableContext,
    name: &str,
    config: StepConfig,
    event: &Value,
    succeeds_at: u32,
) -> Result<Value, DurableError> {
    let input = text(event);
    ctx.step_with(name, config, |step| async move {
        tracing::info!("{input}");
        if step.attempt < succeeds_at {
            std::process::exit(1);
        }
        Ok::<_, RuntimeError>(json!("succeeded on second attempt"))
    })
    .await
}
