//! The execution as this invocation knows it: the operations recorded so far, the
//! checkpoint token, and whether the handler was suspended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::DurableError;
use crate::plugin::Plugins;
use crate::protocol::{Operation, OperationType, OperationUpdate};
use crate::service::{CheckpointService, ServiceError};

/// One execution's state, shared by its contexts.
pub(crate) struct ExecutionState {
    arn: String,
    service: Arc<dyn CheckpointService>,
    /// The token the next checkpoint carries; the lock also keeps checkpoints in order.
    token: tokio::sync::Mutex<String>,
    operations: Mutex<HashMap<String, Operation>>,
    /// Why the handler was suspended, once it was.
    suspended: Mutex<Option<String>>,
    /// Told of the execution's events.
    pub(crate) plugins: Plugins,
}

impl std::fmt::Debug for ExecutionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionState")
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

impl ExecutionState {
    pub(crate) fn new(
        arn: String,
        token: String,
        operations: Vec<Operation>,
        service: Arc<dyn CheckpointService>,
        plugins: Plugins,
    ) -> Self {
        ExecutionState {
            arn,
            service,
            token: tokio::sync::Mutex::new(token),
            operations: Mutex::new(
                operations
                    .into_iter()
                    .map(|operation| (operation.id.clone(), operation))
                    .collect(),
            ),
            suspended: Mutex::new(None),
            plugins,
        }
    }

    /// The execution's ARN.
    pub(crate) fn arn(&self) -> &str {
        &self.arn
    }

    /// The recorded operation `id`, if any.
    pub(crate) fn operation(&self, id: &str) -> Option<Operation> {
        lock(&self.operations).get(id).cloned()
    }

    /// The `EXECUTION` operation, which holds the input.
    pub(crate) fn execution_operation(&self) -> Option<Operation> {
        lock(&self.operations)
            .values()
            .find(|operation| operation.kind == OperationType::Execution)
            .cloned()
    }

    /// Writes `update` and waits for the service's answer, which replaces the operations
    /// it names.
    pub(crate) async fn checkpoint(&self, update: OperationUpdate) -> Result<(), DurableError> {
        let mut token = self.token.lock().await;
        let answer = self
            .service
            .checkpoint(&self.arn, &token, vec![update])
            .await?;
        let Some(next) = answer.checkpoint_token else {
            return Err(DurableError::Service(ServiceError {
                message: "the checkpoint token was revoked".to_owned(),
                retryable: false,
            }));
        };
        *token = next;
        let mut operations = lock(&self.operations);
        for operation in answer.new_execution_state.operations {
            operations.insert(operation.id.clone(), operation);
        }
        Ok(())
    }

    /// Marks the handler suspended and gives the error that tells it so.
    pub(crate) fn suspend(&self, reason: String) -> DurableError {
        lock(&self.suspended).get_or_insert_with(|| reason.clone());
        DurableError::Suspended { reason }
    }

    /// Forgets a suspension: the operations that asked for it belong to a batch that
    /// completed without them.
    pub(crate) fn resume(&self) {
        *lock(&self.suspended) = None;
    }

    /// Why the handler was suspended, if it was.
    pub(crate) fn suspension(&self) -> Option<String> {
        lock(&self.suspended).clone()
    }
}

/// Locks `mutex`; its data stays consistent across a panic (whole values are replaced).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
