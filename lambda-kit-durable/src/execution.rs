//! One durable invocation: load the execution's history, run the handler against it, and
//! answer `SUCCEEDED`, `FAILED` or `PENDING`.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::plugin::{InvocationEnd, InvocationInfo, Plugins};
use crate::protocol::{
    ErrorObject, InvocationInput, InvocationOutput, InvocationStatus, OperationAction,
    OperationType, OperationUpdate,
};
use crate::serdes::serdes_error;
use crate::service::CheckpointService;
use crate::state::ExecutionState;

/// The largest result an invocation's answer carries; a larger one is checkpointed as the
/// execution's result instead, and the answer's `Result` left empty. Lambda's 6 MB limit,
/// less room for the envelope.
pub const MAX_INLINE_RESULT_BYTES: usize = 6 * 1024 * 1024 - 50;

/// Runs `handler` for one durable invocation and gives the invocation's answer.
///
/// The event the handler gets is the execution's input (the `EXECUTION` operation's
/// payload, `null` when empty). An `Err` is an invocation error, for Lambda to retry: the
/// history could not be read, or a checkpoint failed.
pub async fn run<E, R, F, Fut>(
    input: InvocationInput,
    service: Arc<dyn CheckpointService>,
    handler: F,
) -> Result<InvocationOutput, DurableError>
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E, DurableContext) -> Fut,
    Fut: Future<Output = Result<R, DurableError>>,
{
    run_with_plugins(input, service, Plugins::default(), handler).await
}

/// [`run`], with `plugins` told of the invocation's events.
pub(crate) async fn run_with_plugins<E, R, F, Fut>(
    input: InvocationInput,
    service: Arc<dyn CheckpointService>,
    plugins: Plugins,
    handler: F,
) -> Result<InvocationOutput, DurableError>
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E, DurableContext) -> Fut,
    Fut: Future<Output = Result<R, DurableError>>,
{
    let mut operations = input.initial_execution_state.operations;
    let mut marker = input.initial_execution_state.next_marker;
    while let Some(next) = marker.filter(|marker| !marker.is_empty()) {
        let page = service
            .state(&input.durable_execution_arn, &input.checkpoint_token, &next)
            .await?;
        operations.extend(page.operations);
        marker = page.next_marker;
    }
    let first_invocation = operations
        .iter()
        .all(|operation| operation.kind == OperationType::Execution);
    let state = Arc::new(ExecutionState::new(
        input.durable_execution_arn,
        input.checkpoint_token,
        operations,
        service,
        plugins,
    ));
    let invocation = InvocationInfo {
        execution_arn: state.arn(),
        first_invocation,
    };
    state
        .plugins
        .emit(|plugin| plugin.on_invocation_start(&invocation));
    let answer = answer(&state, handler).await;
    if let Ok(output) = &answer {
        let end = InvocationEnd {
            invocation,
            status: output.status,
            error: output.error.as_ref(),
        };
        state.plugins.emit(|plugin| plugin.on_invocation_end(&end));
    }
    answer
}

/// Runs `handler` against `state`, and gives the invocation's answer.
async fn answer<E, R, F, Fut>(
    state: &Arc<ExecutionState>,
    handler: F,
) -> Result<InvocationOutput, DurableError>
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnOnce(E, DurableContext) -> Fut,
    Fut: Future<Output = Result<R, DurableError>>,
{
    let execution = state.execution_operation();
    let payload = execution
        .as_ref()
        .and_then(|operation| operation.execution_details.as_ref())
        .and_then(|details| details.input_payload.as_deref())
        .filter(|payload| !payload.trim().is_empty())
        .unwrap_or("null");
    let event: E = match serde_json::from_str(payload) {
        Ok(event) => event,
        Err(source) => {
            return Ok(failed(
                serdes_error("execution input", &source.to_string()).to_error_object(),
            ));
        }
    };
    // Every line logged while the handler runs carries the execution's ARN, which is how
    // CloudWatch queries and the conformance suite find an execution's lines. An ERROR
    // span, so that it exists at every log level.
    let span = tracing::error_span!("durable_execution", durableExecutionArn = %state.arn());
    let outcome = handler(event, DurableContext::root(Arc::clone(state)))
        .instrument(span)
        .await;
    // Suspended is suspended, whatever the handler made of the error that said so.
    if state.suspension().is_some() {
        return Ok(InvocationOutput {
            status: InvocationStatus::Pending,
            result: None,
            error: None,
        });
    }
    let result = match outcome {
        Ok(result) => result,
        Err(DurableError::Service(error)) => return Err(DurableError::Service(error)),
        Err(error) => return Ok(failed(error.to_error_object())),
    };
    let result = serde_json::to_string(&result)
        .map_err(|source| serdes_error("execution result", &source.to_string()))?;
    if result.len() <= MAX_INLINE_RESULT_BYTES {
        return Ok(succeeded(Some(result)));
    }
    let Some(execution) = execution else {
        return Ok(failed(ErrorObject::new(
            "ResultTooLarge",
            "the result is too large and the execution has no record to hold it",
        )));
    };
    state
        .checkpoint(OperationUpdate {
            payload: Some(result),
            ..OperationUpdate::new(
                execution.id,
                OperationType::Execution,
                OperationAction::Succeed,
            )
        })
        .await?;
    Ok(succeeded(Some(String::new())))
}

fn succeeded(result: Option<String>) -> InvocationOutput {
    InvocationOutput {
        status: InvocationStatus::Succeeded,
        result,
        error: None,
    }
}

fn failed(error: ErrorObject) -> InvocationOutput {
    InvocationOutput {
        status: InvocationStatus::Failed,
        result: None,
        error: Some(error),
    }
}
