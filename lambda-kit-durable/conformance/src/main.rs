//! One bootstrap for every conformance function: `$CASE` (set per function in
//! `template.yaml`) picks the handler, each the Rust counterpart of the requirement's
//! reference handler (`requirements` in the template's `TestingMetadata`).

mod callback;
mod child;
mod condition;
mod invoke;
mod step;
mod wait;

use std::sync::Arc;

use lambda_kit_durable::aws::LambdaCheckpoints;
use lambda_kit_durable::{DurableContext, DurableError, Serdes, durable_fn};
use serde_json::Value;

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
    runtime.run(durable_fn(checkpoints, handler)).await
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

/// Whether `error` ends the invocation (a suspension, a failed checkpoint) rather than
/// the operation: handlers that catch failures pass these on.
fn ends_invocation(error: &DurableError) -> bool {
    matches!(
        error,
        DurableError::Suspended { .. } | DurableError::Service(_)
    )
}

/// The text of a string event, or the event as JSON.
fn text(event: &Value) -> String {
    match event {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
