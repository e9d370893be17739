//! The chained-invoke suite (5-x), and the functions it invokes.

use std::time::Duration;

use lambda_kit_durable::{DurableContext, DurableError, InvokeConfig, JsonSerdes, Serdes};
use serde_json::{Value, json};

use crate::RuntimeError;

/// The function `$<variable>` names (the template resolves it to an ARN).
fn target(variable: &str) -> String {
    std::env::var(variable).unwrap_or_default()
}

/// Writes text payloads in capitals, as JSON (5-15).
struct UppercasePayload;

impl Serdes<Value> for UppercasePayload {
    fn serialize(&self, value: &Value) -> Result<String, String> {
        let value = match value {
            Value::String(text) => Value::String(text.to_uppercase()),
            other => other.clone(),
        };
        Ok(value.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<Value, String> {
        serde_json::from_str(text).map_err(|error| error.to_string())
    }
}

/// Reads the answer as it is, in capitals (5-16).
struct UppercaseResult;

impl Serdes<Value> for UppercaseResult {
    fn serialize(&self, value: &Value) -> Result<String, String> {
        Ok(value.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<Value, String> {
        Ok(Value::String(text.to_uppercase()))
    }
}

async fn call(ctx: &DurableContext, name: &str, payload: &Value) -> Result<Value, DurableError> {
    ctx.invoke(
        name,
        &target("TARGET_FUNCTION_NAME"),
        payload,
        InvokeConfig::default(),
    )
    .await
}

/// Runs the invoke handler or target `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let result = match case {
        // The targets.
        "target_echo" => match ctx.wait("", Duration::from_secs(1)).await {
            Ok(()) => Ok(event.clone()),
            Err(error) => Err(error),
        },
        "target_error" => match ctx.wait("", Duration::from_secs(1)).await {
            Ok(()) => Err(DurableError::failed(
                "RuntimeError",
                "target function error",
            )),
            Err(error) => Err(error),
        },
        "target_slow" => {
            // Longer than the function's timeout: Lambda ends it first.
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(json!("should not reach here"))
        }
        // The handlers.
        "invoke_basic" | "invoke_complex_object" | "invoke_target_fails" | "invoke_timeout" => {
            call(ctx, "", event).await
        }
        "invoke_with_name" => {
            let name = event["name"].as_str().unwrap_or_default();
            call(ctx, name, &event["payload"]).await
        }
        "invoke_null_result" => call(ctx, "", &Value::Null).await,
        "invoke_target_fails_caught" | "invoke_timeout_caught" => {
            match call(ctx, "", event).await {
                Err(error) if error.ends_invocation() => Err(error),
                _ if case == "invoke_timeout_caught" => Ok(json!("timeout fallback")),
                _ => Ok(json!("fallback")),
            }
        }
        "invoke_replay_skips" | "invoke_replay_rethrows" => {
            let outcome = match call(ctx, "", event).await {
                Err(error) if error.ends_invocation() => return Some(Err(error)),
                Err(_) => Value::Null,
                Ok(result) => result,
            };
            match ctx.wait("", Duration::from_secs(1)).await {
                Ok(()) if case == "invoke_replay_rethrows" => Ok(json!("caught and continued")),
                Ok(()) => Ok(outcome),
                Err(error) => Err(error),
            }
        }
        "step_then_invoke" => {
            let computed = ctx
                .step("compute_payload", |_| async {
                    Ok::<_, RuntimeError>(json!("step result"))
                })
                .await;
            match computed {
                Ok(payload) => call(ctx, "", &payload).await,
                Err(error) => Err(error),
            }
        }
        "invoke_then_step" => match call(ctx, "", event).await {
            Ok(answer) => {
                let text = answer
                    .as_str()
                    .map_or_else(|| answer.to_string(), str::to_owned);
                ctx.step("process_result", |_| async move {
                    Ok::<_, RuntimeError>(json!(format!("processed: {text}")))
                })
                .await
            }
            Err(error) => Err(error),
        },
        "invoke_in_child_context" => {
            ctx.run_in_child_context("invoke_in_child", |child| async move {
                call(&child, "", &Value::Null).await
            })
            .await
        }
        "invoke_multiple_sequential" => {
            let first: Result<Value, _> = ctx
                .invoke(
                    "",
                    &target("TARGET_FUNCTION_NAME_1"),
                    event,
                    InvokeConfig::default(),
                )
                .await;
            match first {
                Ok(first) => {
                    ctx.invoke(
                        "",
                        &target("TARGET_FUNCTION_NAME_2"),
                        &first,
                        InvokeConfig::default(),
                    )
                    .await
                }
                Err(error) => Err(error),
            }
        }
        "invoke_custom_payload_serdes" => {
            ctx.invoke_with_serdes(
                "",
                &target("TARGET_FUNCTION_NAME"),
                event,
                InvokeConfig::default(),
                &UppercasePayload,
                &JsonSerdes,
            )
            .await
        }
        "invoke_custom_result_serdes" => {
            ctx.invoke_with_serdes(
                "",
                &target("TARGET_FUNCTION_NAME"),
                event,
                InvokeConfig::default(),
                &JsonSerdes,
                &UppercaseResult,
            )
            .await
        }
        "invoke_large_payload" => call(ctx, "", &json!({"data": "x".repeat(200_000)})).await,
        "invoke_with_tenant_id" => {
            let tenant = event["tenantId"].as_str().unwrap_or_default();
            ctx.invoke(
                "",
                &target("TARGET_FUNCTION_NAME"),
                &event["payload"],
                InvokeConfig::default().tenant_id(tenant),
            )
            .await
        }
        _ => return None,
    };
    Some(result)
}
