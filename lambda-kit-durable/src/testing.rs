//! Running a durable handler on a laptop: [`LocalRunner`] plays the durable-execution
//! service in memory, invokes the handler until the execution ends, and skips every wait
//! and retry delay by moving its own clock.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::execution;
use crate::plugin::{Plugin, Plugins};
use crate::protocol::{
    CallbackDetails, ContextDetails, ErrorObject, ExecutionDetails, ExecutionStatePage,
    InvocationInput, InvocationOutput, InvocationStatus, Operation, OperationAction,
    OperationStatus, OperationType, OperationUpdate, StepDetails, WaitDetails,
};
use crate::serdes::serdes_error;
use crate::service::{CheckpointAnswer, CheckpointService, ServiceError, ServiceFuture};

/// The execution's ARN in a local run.
const ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:local:$LATEST/durable-execution/local/1";

/// Where the local clock starts, in milliseconds since the epoch (2026-01-01).
const START_MS: i64 = 1_767_225_600_000;

/// Runs a durable handler to its end against an in-memory checkpoint service.
#[derive(Debug, Clone, Default)]
pub struct LocalRunner {
    service: Arc<MemoryService>,
    plugins: Plugins,
}

/// How a local run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRun {
    /// The last invocation's answer.
    pub output: InvocationOutput,
    /// How many invocations it took.
    pub invocations: usize,
}

impl LocalRunner {
    /// A runner with an empty history.
    pub fn new() -> Self {
        LocalRunner::default()
    }

    /// Tells `plugin` of every invocation's events (after the plugins registered before).
    pub fn plugin(mut self, plugin: impl Plugin + 'static) -> Self {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Starts an execution with `event` and invokes `handler` until the execution succeeds
    /// or fails, or is suspended with nothing left to wake it (an `Ok` with `PENDING`).
    /// Waits and retry delays end at once; [`LocalRunner::operations`] shows the history.
    pub async fn run<E, R, F, Fut>(
        &self,
        event: &impl Serialize,
        handler: F,
    ) -> Result<LocalRun, DurableError>
    where
        E: DeserializeOwned,
        R: Serialize,
        F: Fn(E, DurableContext) -> Fut,
        Fut: Future<Output = Result<R, DurableError>>,
    {
        self.start(event)?;
        self.resume(handler).await
    }

    /// Starts an execution with `event`, without invoking anything: for tests that invoke
    /// the handler themselves, such as through the service `#[lambda_kit::handler(durable)]`
    /// generates, with [`LocalRunner::invocation`] and [`LocalRunner::checkpoints`].
    pub fn start(&self, event: &impl Serialize) -> Result<(), DurableError> {
        let payload = serde_json::to_string(event)
            .map_err(|source| serdes_error("execution input", &source.to_string()))?;
        self.service.start(payload);
        Ok(())
    }

    /// The event Lambda would invoke the function with now: the execution's envelope and
    /// its history.
    pub fn invocation(&self) -> InvocationInput {
        self.service.invocation_input()
    }

    /// The in-memory checkpoint service, to hand to a durable handler.
    pub fn checkpoints(&self) -> Arc<dyn CheckpointService> {
        self.service.clone()
    }

    /// Invokes `handler` on the execution as its history stands, as Lambda does after a
    /// crash or a deployment, until it ends or nothing is left to wake it.
    pub async fn resume<E, R, F, Fut>(&self, handler: F) -> Result<LocalRun, DurableError>
    where
        E: DeserializeOwned,
        R: Serialize,
        F: Fn(E, DurableContext) -> Fut,
        Fut: Future<Output = Result<R, DurableError>>,
    {
        let mut invocations = 0;
        loop {
            invocations += 1;
            let output = execution::run_with_plugins(
                self.invocation(),
                self.checkpoints(),
                self.plugins.clone(),
                &handler,
            )
            .await?;
            if output.status != InvocationStatus::Pending || !self.service.advance_clock() {
                return Ok(LocalRun {
                    output,
                    invocations,
                });
            }
        }
    }

    /// The execution's operations, in the order they were first recorded.
    pub fn operations(&self) -> Vec<Operation> {
        self.service.lock().operations.clone()
    }

    /// The ids of the callbacks waiting to be completed, oldest first.
    pub fn pending_callbacks(&self) -> Vec<String> {
        self.service
            .lock()
            .operations
            .iter()
            .filter(|operation| operation.status == OperationStatus::Started)
            .filter_map(|operation| operation.callback_details.as_ref())
            .map(|details| details.callback_id.clone())
            .collect()
    }

    /// Completes callback `id` with `result`, as `SendDurableExecutionCallbackSuccess`
    /// does; [`LocalRunner::resume`] then continues the execution.
    pub fn succeed_callback(&self, id: &str, result: &str) -> Result<(), ServiceError> {
        self.service.end_callback(id, |operation, details| {
            details.result = Some(result.to_owned());
            operation.status = OperationStatus::Succeeded;
        })
    }

    /// Times callback `id` out, as the service does when its timeout passes unanswered.
    pub fn time_out_callback(&self, id: &str) -> Result<(), ServiceError> {
        self.service.end_callback(id, |operation, _| {
            operation.status = OperationStatus::TimedOut;
        })
    }

    /// Fails callback `id` with `error`, as `SendDurableExecutionCallbackFailure` does.
    pub fn fail_callback(&self, id: &str, error: ErrorObject) -> Result<(), ServiceError> {
        self.service.end_callback(id, |operation, details| {
            details.error = Some(error);
            operation.status = OperationStatus::Failed;
        })
    }
}

/// The durable-execution service's side, in memory.
#[derive(Debug, Default)]
struct MemoryService {
    execution: Mutex<Execution>,
}

#[derive(Debug, Default)]
struct Execution {
    operations: Vec<Operation>,
    token: u64,
    now_ms: i64,
}

impl MemoryService {
    fn lock(&self) -> std::sync::MutexGuard<'_, Execution> {
        self.execution
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn start(&self, payload: String) {
        let mut execution = self.lock();
        *execution = Execution {
            operations: vec![Operation {
                id: "execution".to_owned(),
                kind: OperationType::Execution,
                status: OperationStatus::Started,
                parent_id: None,
                name: None,
                sub_type: None,
                start_timestamp: Some(START_MS),
                end_timestamp: None,
                execution_details: Some(ExecutionDetails {
                    input_payload: Some(payload),
                }),
                context_details: None,
                step_details: None,
                wait_details: None,
                callback_details: None,
                chained_invoke_details: None,
            }],
            token: 0,
            now_ms: START_MS,
        };
    }

    /// Ends the started callback `id` as `end` says.
    fn end_callback(
        &self,
        id: &str,
        end: impl FnOnce(&mut Operation, &mut CallbackDetails),
    ) -> Result<(), ServiceError> {
        let mut execution = self.lock();
        let now = execution.now_ms;
        let operation = execution
            .operations
            .iter_mut()
            .find(|operation| {
                operation.status == OperationStatus::Started
                    && operation
                        .callback_details
                        .as_ref()
                        .is_some_and(|details| details.callback_id == id)
            })
            .ok_or_else(|| ServiceError {
                message: format!("no callback {id:?} is waiting"),
                retryable: false,
            })?;
        let mut details = operation.callback_details.take().unwrap_or_default();
        end(operation, &mut details);
        operation.callback_details = Some(details);
        operation.end_timestamp = Some(now);
        Ok(())
    }

    fn invocation_input(&self) -> InvocationInput {
        let execution = self.lock();
        InvocationInput {
            durable_execution_arn: ARN.to_owned(),
            checkpoint_token: format!("token-{}", execution.token),
            initial_execution_state: ExecutionStatePage {
                operations: execution.operations.clone(),
                next_marker: None,
            },
        }
    }

    /// Moves the clock to the earliest timer and fires every timer due then; `false` when
    /// no timer is left.
    fn advance_clock(&self) -> bool {
        let mut execution = self.lock();
        let Some(due) = execution.operations.iter().filter_map(timer).min() else {
            return false;
        };
        execution.now_ms = execution.now_ms.max(due);
        let now = execution.now_ms;
        for operation in &mut execution.operations {
            if timer(operation).is_none_or(|at| at > now) {
                continue;
            }
            if operation.status == OperationStatus::Started {
                // A wait ends.
                operation.status = OperationStatus::Succeeded;
                operation.end_timestamp = Some(now);
            } else {
                // A step's next attempt is due.
                operation.status = OperationStatus::Ready;
            }
        }
        true
    }

    fn apply(
        execution: &mut Execution,
        update: OperationUpdate,
    ) -> Result<Operation, ServiceError> {
        let now = execution.now_ms;
        let index = match execution
            .operations
            .iter()
            .position(|operation| operation.id == update.id)
        {
            Some(index) => index,
            None if update.action == OperationAction::Start => {
                execution.operations.push(Operation {
                    id: update.id.clone(),
                    kind: update.kind,
                    status: OperationStatus::Started,
                    parent_id: update.parent_id.clone(),
                    name: update.name.clone(),
                    sub_type: update.sub_type,
                    start_timestamp: Some(now),
                    end_timestamp: None,
                    execution_details: None,
                    context_details: None,
                    step_details: (update.kind == OperationType::Step).then(StepDetails::default),
                    wait_details: None,
                    // The service gives a callback its id when it starts.
                    callback_details: (update.kind == OperationType::Callback).then(|| {
                        CallbackDetails {
                            callback_id: format!("callback-{}", update.id),
                            result: None,
                            error: None,
                        }
                    }),
                    chained_invoke_details: None,
                });
                execution.operations.len() - 1
            }
            None => {
                return Err(ServiceError {
                    message: format!("{:?} of unknown operation {}", update.action, update.id),
                    retryable: false,
                });
            }
        };
        let operation = &mut execution.operations[index];
        match (update.kind, update.action) {
            (OperationType::Step, OperationAction::Start) => {
                operation.status = OperationStatus::Started;
            }
            (OperationType::Step, OperationAction::Succeed | OperationAction::Fail) => {
                let details = operation
                    .step_details
                    .get_or_insert_with(StepDetails::default);
                details.attempt += 1;
                details.result = update.payload;
                details.error = update.error;
                operation.status = ended(update.action);
                operation.end_timestamp = Some(now);
            }
            (OperationType::Step, OperationAction::Retry) => {
                let delay_s = update
                    .step_options
                    .map_or(1, |options| options.next_attempt_delay_seconds);
                let details = operation
                    .step_details
                    .get_or_insert_with(StepDetails::default);
                details.attempt += 1;
                details.error = update.error;
                // A wait_for_condition's state between checks.
                if update.payload.is_some() {
                    details.result = update.payload;
                }
                details.next_attempt_timestamp = Some(after(now, delay_s));
                operation.status = OperationStatus::Pending;
            }
            (OperationType::Wait, OperationAction::Start) => {
                let seconds = update
                    .wait_options
                    .map_or(1, |options| options.wait_seconds);
                operation.wait_details = Some(WaitDetails {
                    scheduled_end_timestamp: Some(after(now, seconds)),
                });
            }
            (
                OperationType::Context | OperationType::Callback | OperationType::ChainedInvoke,
                OperationAction::Start,
            ) => {}
            (OperationType::Context, OperationAction::Succeed | OperationAction::Fail) => {
                operation.context_details = Some(ContextDetails {
                    result: update.payload,
                    replay_children: update
                        .context_options
                        .is_some_and(|options| options.replay_children),
                    error: update.error,
                });
                operation.status = ended(update.action);
                operation.end_timestamp = Some(now);
            }
            (OperationType::Execution, OperationAction::Succeed) => {
                operation.status = OperationStatus::Succeeded;
                operation.end_timestamp = Some(now);
            }
            (kind, action) => {
                return Err(ServiceError {
                    message: format!(
                        "{action:?} of a {kind:?} operation is not served locally yet"
                    ),
                    retryable: false,
                });
            }
        }
        Ok(operation.clone())
    }
}

/// When `operation`'s timer fires, if it has one: a started wait's end, a pending step's
/// next attempt.
fn timer(operation: &Operation) -> Option<i64> {
    match operation.status {
        OperationStatus::Started => operation.wait_details.as_ref()?.scheduled_end_timestamp,
        OperationStatus::Pending => operation.step_details.as_ref()?.next_attempt_timestamp,
        _ => None,
    }
}

/// `seconds` after `now_ms`, in milliseconds.
fn after(now_ms: i64, seconds: u64) -> i64 {
    now_ms + i64::try_from(seconds).unwrap_or(i64::MAX / 2_000) * 1000
}

/// The status an operation ends in when `action` (`SUCCEED` or `FAIL`) ends it.
fn ended(action: OperationAction) -> OperationStatus {
    if action == OperationAction::Succeed {
        OperationStatus::Succeeded
    } else {
        OperationStatus::Failed
    }
}

impl CheckpointService for MemoryService {
    fn checkpoint<'a>(
        &'a self,
        _arn: &'a str,
        token: &'a str,
        updates: Vec<OperationUpdate>,
    ) -> ServiceFuture<'a, CheckpointAnswer> {
        Box::pin(async move {
            let mut execution = self.lock();
            if token != format!("token-{}", execution.token) {
                return Err(ServiceError {
                    message: format!("stale checkpoint token {token:?}"),
                    retryable: false,
                });
            }
            let mut changed = Vec::new();
            for update in updates {
                changed.push(Self::apply(&mut execution, update)?);
            }
            execution.token += 1;
            Ok(CheckpointAnswer {
                checkpoint_token: Some(format!("token-{}", execution.token)),
                new_execution_state: ExecutionStatePage {
                    operations: changed,
                    next_marker: None,
                },
            })
        })
    }

    fn state<'a>(
        &'a self,
        _arn: &'a str,
        _token: &'a str,
        _marker: &'a str,
    ) -> ServiceFuture<'a, ExecutionStatePage> {
        // The local runner hands out the whole history in the first page.
        Box::pin(async move { Ok(ExecutionStatePage::default()) })
    }
}
