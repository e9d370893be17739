//! The wait suite (2-x).

use std::time::Duration;

use lambda_kit_durable::{DurableContext, DurableError};
use serde_json::{Value, json};

/// Runs the wait handler `case`, if it is one.
pub(crate) async fn run(case: &str, ctx: &DurableContext) -> Option<Result<Value, DurableError>> {
    let result = match case {
        // 2-1
        "wait_basic" => wait_then(ctx, &[("", 2)], json!("Wait completed")).await,
        // 2-2
        "wait_with_name" => {
            wait_then(
                ctx,
                &[("custom_wait_name", 2)],
                json!("Wait with name completed"),
            )
            .await
        }
        // 2-3
        "wait_multiple_sequential" => {
            wait_then(
                ctx,
                &[("wait-1", 2), ("wait-2", 2)],
                json!({"completedWaits": 2}),
            )
            .await
        }
        // 2-4
        "wait_duration_units" => {
            wait_then(ctx, &[("", 60)], json!("Wait with minutes completed")).await
        }
        // 2-5
        "wait_long_duration" => {
            wait_then(ctx, &[("", 3600)], json!("Wait with hours completed")).await
        }
        _ => return None,
    };
    Some(result)
}

/// Waits `(name, seconds)` one after the other, then answers `result`.
async fn wait_then(
    ctx: &DurableContext,
    waits: &[(&str, u64)],
    result: Value,
) -> Result<Value, DurableError> {
    for (name, seconds) in waits {
        ctx.wait(name, Duration::from_secs(*seconds)).await?;
    }
    Ok(result)
}
