//! The durable-execution wire format: what Lambda passes a durable function, what the
//! function answers, and the operation records and updates the checkpoint API exchanges.
//!
//! Field names are the service's (`PascalCase`); timestamps in an invocation's payload are
//! milliseconds since the Unix epoch. Unknown fields are ignored, so that a newer service
//! does not break an older function.

use serde::{Deserialize, Serialize};

/// The event of a durable invocation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationInput {
    /// The execution's ARN; opaque.
    pub durable_execution_arn: String,
    /// The token the first checkpoint of this invocation must carry.
    pub checkpoint_token: String,
    /// The first page of the execution's operations.
    #[serde(default)]
    pub initial_execution_state: ExecutionStatePage,
}

/// One page of an execution's operations.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionStatePage {
    /// The operations of this page.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Where the next page starts; empty or absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// What a durable invocation answers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationOutput {
    /// How the invocation ended.
    pub status: InvocationStatus,
    /// The execution's result (JSON text), when it succeeded and the result fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Why the execution failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// How a durable invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvocationStatus {
    /// The execution finished with a result.
    Succeeded,
    /// The execution finished with an error.
    Failed,
    /// The execution is suspended: a wait, a retry or a callback will resume it.
    Pending,
}

/// An error as the service records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorObject {
    /// The error's kind (a type name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Data the error carries, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<String>,
    /// Where it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<Vec<String>>,
}

impl ErrorObject {
    /// An error of `error_type` saying `message`, with no data or stack trace.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorObject {
            error_type: Some(error_type.into()),
            error_message: Some(message.into()),
            error_data: None,
            stack_trace: None,
        }
    }
}

/// What an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationType {
    /// The execution itself; its details hold the input.
    Execution,
    /// A child context.
    Context,
    /// A step.
    Step,
    /// A wait.
    Wait,
    /// A callback.
    Callback,
    /// An invocation of another function.
    ChainedInvoke,
}

/// The SDK-level kind of an operation, recorded next to its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum OperationSubType {
    /// `step`.
    Step,
    /// `wait`.
    Wait,
    /// `create_callback`.
    Callback,
    /// `run_in_child_context`.
    RunInChildContext,
    /// `map`.
    Map,
    /// One item of a `map`.
    MapIteration,
    /// `parallel`.
    Parallel,
    /// One branch of a `parallel`.
    ParallelBranch,
    /// `wait_for_callback`.
    WaitForCallback,
    /// `wait_for_condition`.
    WaitForCondition,
    /// `invoke`.
    ChainedInvoke,
}

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    /// Started, not finished.
    Started,
    /// Waiting for a timer (a step's retry).
    Pending,
    /// The timer fired: a step may run its next attempt.
    Ready,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Timed out.
    TimedOut,
    /// Stopped.
    Stopped,
}

/// One operation of an execution, as the service records it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Operation {
    /// Its id (see [`crate::id`]).
    pub id: String,
    /// What it is.
    #[serde(rename = "Type")]
    pub kind: OperationType,
    /// Where it stands.
    pub status: OperationStatus,
    /// The id of the context it runs in; none at the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The name given in code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The SDK-level kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<OperationSubType>,
    /// When it started, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<i64>,
    /// When it ended, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_timestamp: Option<i64>,
    /// The execution's input (on the `EXECUTION` operation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_details: Option<ExecutionDetails>,
    /// A child context's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_details: Option<ContextDetails>,
    /// A step's attempts and outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_details: Option<StepDetails>,
    /// A wait's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_details: Option<WaitDetails>,
    /// A callback's id and outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_details: Option<CallbackDetails>,
    /// An invoked function's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_details: Option<ChainedInvokeDetails>,
}

/// An invoked function's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChainedInvokeDetails {
    /// What the function answered, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// How it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// A callback's details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackDetails {
    /// The id an outside system completes the callback with.
    #[serde(default)]
    pub callback_id: String,
    /// The result it sent, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error it sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// The `EXECUTION` operation's details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionDetails {
    /// The user's event, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_payload: Option<String>,
}

/// A child context's details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextDetails {
    /// The result, as the context's serializer wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The result was too large to checkpoint: a replay runs the context again, its
    /// operations answering from their own checkpoints.
    #[serde(default)]
    pub replay_children: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// A step's details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepDetails {
    /// Attempts made so far (finished ones, successful or not).
    #[serde(default)]
    pub attempt: u32,
    /// When the next attempt may run, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_timestamp: Option<i64>,
    /// The result, as the step's serializer wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The last attempt's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// A wait's details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitDetails {
    /// When the wait ends, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_end_timestamp: Option<i64>,
}

/// What an update does to its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationAction {
    /// Creates it.
    Start,
    /// Finishes it with a result.
    Succeed,
    /// Finishes it with an error.
    Fail,
    /// Schedules a step's next attempt.
    Retry,
    /// Cancels it.
    Cancel,
}

/// One change a checkpoint records.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationUpdate {
    /// The operation's id.
    pub id: String,
    /// Its type.
    #[serde(rename = "Type")]
    pub kind: OperationType,
    /// What happens to it.
    pub action: OperationAction,
    /// The context it runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its SDK-level kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<OperationSubType>,
    /// A result, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// An error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// A child context's replay mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_options: Option<ContextOptions>,
    /// A step's retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_options: Option<StepOptions>,
    /// A wait's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_options: Option<WaitOptions>,
    /// A callback's timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_options: Option<CallbackOptions>,
    /// The function a chained invoke calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_options: Option<ChainedInvokeOptions>,
}

impl OperationUpdate {
    /// `action` on operation `id` of type `kind`, carrying nothing else yet: a START, SUCCEED
    /// or RETRY adds what it carries to the fields.
    pub fn new(id: impl Into<String>, kind: OperationType, action: OperationAction) -> Self {
        OperationUpdate {
            id: id.into(),
            kind,
            action,
            parent_id: None,
            name: None,
            sub_type: None,
            payload: None,
            error: None,
            context_options: None,
            step_options: None,
            wait_options: None,
            callback_options: None,
            chained_invoke_options: None,
        }
    }
}

/// The function a chained invoke calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChainedInvokeOptions {
    /// Its name or ARN (with a version or alias).
    pub function_name: String,
    /// The tenant it runs for, for a tenant-isolated function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// A callback's timeouts, in seconds (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackOptions {
    /// How long the callback may take in all.
    pub timeout_seconds: u64,
    /// How long it may go without a heartbeat.
    pub heartbeat_timeout_seconds: u64,
}

/// How a child context replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextOptions {
    /// Whether a replay runs the context again instead of reading its result.
    pub replay_children: bool,
}

/// A step retry's delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepOptions {
    /// Seconds until the next attempt (at least 1).
    pub next_attempt_delay_seconds: u64,
}

/// A wait's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitOptions {
    /// Seconds to wait (at least 1).
    pub wait_seconds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_input_reads_the_service_s_shape() {
        let input: InvocationInput = serde_json::from_value(serde_json::json!({
            "DurableExecutionArn": "arn:aws:lambda:us-west-2:123456789012:function:f:$LATEST/durable-execution/e/1",
            "CheckpointToken": "t0",
            "InitialExecutionState": {
                "Operations": [{
                    "Id": "exec",
                    "Type": "EXECUTION",
                    "Status": "STARTED",
                    "StartTimestamp": 1_765_000_000_000_i64,
                    "ExecutionDetails": {"InputPayload": "{\"order\":7}"},
                    "SomethingNewer": true,
                }, {
                    "Id": "s1",
                    "Type": "STEP",
                    "SubType": "Step",
                    "Name": "charge",
                    "Status": "PENDING",
                    "StepDetails": {"Attempt": 2, "NextAttemptTimestamp": 1_765_000_005_000_i64},
                }],
                "NextMarker": "",
            },
        }))
        .expect("the documented shape");
        let operations = &input.initial_execution_state.operations;
        assert_eq!(operations[0].kind, OperationType::Execution);
        assert_eq!(
            operations[0]
                .execution_details
                .as_ref()
                .and_then(|details| details.input_payload.as_deref()),
            Some("{\"order\":7}")
        );
        assert_eq!(operations[1].sub_type, Some(OperationSubType::Step));
        assert_eq!(operations[1].status, OperationStatus::Pending);
        assert_eq!(
            operations[1].step_details.as_ref().map(|d| d.attempt),
            Some(2)
        );
    }

    #[test]
    fn updates_and_outputs_write_only_what_they_carry() {
        let update = OperationUpdate {
            name: Some("charge".into()),
            sub_type: Some(OperationSubType::Step),
            error: Some(ErrorObject::new("Declined", "card declined")),
            step_options: Some(StepOptions {
                next_attempt_delay_seconds: 5,
            }),
            ..OperationUpdate::new("s1", OperationType::Step, OperationAction::Retry)
        };
        assert_eq!(
            serde_json::to_value(&update).expect("serializes"),
            serde_json::json!({
                "Id": "s1", "Type": "STEP", "Action": "RETRY", "Name": "charge", "SubType": "Step",
                "Error": {"ErrorType": "Declined", "ErrorMessage": "card declined"},
                "StepOptions": {"NextAttemptDelaySeconds": 5},
            })
        );
        let pending = InvocationOutput {
            status: InvocationStatus::Pending,
            result: None,
            error: None,
        };
        assert_eq!(
            serde_json::to_value(&pending).expect("serializes"),
            serde_json::json!({"Status": "PENDING"})
        );
    }
}
