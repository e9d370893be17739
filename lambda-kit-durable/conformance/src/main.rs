//! One bootstrap for every conformance function: `$CASE` (set per function in
//! `template.yaml`) picks the handler, each the Rust counterpart of the requirement's
//! reference handler (`requirements` in the template's `TestingMetadata`).

mod callback;
mod child;
mod condition;
mod invoke;
mod map;
mod parallel;
mod plugins;
mod step;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use lambda_kit_durable::aws::LambdaCheckpoints;
use lambda_kit_durable::{
    BatchConfig, BatchResult, DurableContext, DurableError, Serdes, durable_fn,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The handler `$CASE` names.
async fn handler(event: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let case = std::env::var("CASE").unwrap_or_default();
    if let Some(result) = step::run(&case, &event, &ctx).await {
        return result;
    }
    if let Some(result) = wait::run(&case, &ctx).await {
        return result;
    }
    if let Some(result) = child::run(&case, &event, &ctx).await {
        return result;
    }
    if let Some(result) = condition::run(&case, &event, &ctx).await {
        return result;
    }
    if let Some(result) = callback::run(&case, &event, &ctx).await {
        return result;
    }
    if let Some(result) = invoke::run(&case, &event, &ctx).await {
        return result;
    }
    if let Some(result) = parallel::run(&case, &ctx).await {
        return result;
    }
    if let Some(result) = map::run(&case, &event, &ctx).await {
        return result;
    }
    if let Some(result) = plugins::run(&case, &event, &ctx).await {
        return result;
    }
    Err(DurableError::failed(
        "UnknownCase",
        format!("no conformance handler is named {case:?}"),
    ))
}

/// The one plain (not durable) function: chained invokes call durable and plain functions
/// alike (5-x).
async fn non_durable(_: Value, _: lambda_kit::Context) -> Result<Value, lambda_kit::Error> {
    Ok(Value::String("non-durable result".to_owned()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_kit::Error> {
    let runtime = lambda_kit::Runtime::from_env()?;
    if std::env::var("CASE").as_deref() == Ok("target_non_durable") {
        return runtime.run(lambda_kit::handler_fn(non_durable)).await;
    }
    let checkpoints = Arc::new(LambdaCheckpoints::from_env().await);
    let case = std::env::var("CASE").unwrap_or_default();
    let function = plugins::for_case(&case)
        .into_iter()
        .fold(durable_fn(checkpoints, handler), |function, plugin| {
            function.plugin(plugin)
        });
    runtime.run(function).await
}

/// The reference handlers' generic failure (`ErrorType` `RuntimeError`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RuntimeError(String);

/// Writes text in capitals and reads it back as it is (1-6, 3-14).
struct Uppercase;

impl Serdes<String> for Uppercase {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(value.to_uppercase())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
}

/// Checkpoints a text as `{"wrapped": text}` and reads it back (8-15).
struct Wrapped;

impl Serdes<String> for Wrapped {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(json!({ "wrapped": value }).to_string())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        let envelope: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
        envelope["wrapped"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("not a wrapped text: {text}"))
    }
}

/// One item at a time, in index order: the batch requirements' deterministic histories.
fn sequential<T: Serialize + DeserializeOwned + 'static>() -> BatchConfig<T> {
    BatchConfig::default().max_concurrency(1)
}

/// A batch's succeeded results, in index order.
fn results<T: Serialize>(batch: BatchResult<T>) -> Value {
    json!(batch.into_results())
}

/// What the batch requirements project a batch result to: its completion reason, its
/// status (when `with_status`) and its counts.
fn projection<T>(batch: &BatchResult<T>, with_status: bool) -> Value {
    let mut projection = json!({
        "completionReason": batch.completion_reason(),
        "successCount": batch.success_count(),
        "failureCount": batch.failure_count(),
        "totalCount": batch.total_count(),
    });
    if with_status {
        projection["status"] = json!(batch.status());
    }
    projection
}

/// The min-successful requirements' projection (8-8, 9-7): reason and counts.
fn min_successful_projection<T>(batch: &BatchResult<T>) -> Value {
    json!({
        "completionReason": batch.completion_reason(),
        "successCount": batch.success_count(),
        "totalCount": batch.total_count(),
    })
}

/// `result`, after a wait of `seconds` (unless `result` is an error).
async fn then_wait(
    ctx: &DurableContext,
    result: Result<impl Into<Value>, DurableError>,
    seconds: u64,
) -> Result<Value, DurableError> {
    let value = result?.into();
    ctx.wait("", Duration::from_secs(seconds)).await?;
    Ok(value)
}

/// The text of a string event, or the event as JSON.
fn text(event: &Value) -> String {
    match event {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
