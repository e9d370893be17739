//! The checkpoint API: where an execution's progress is written and read back.
//!
//! Lambda's `CheckpointDurableExecution` and `GetDurableExecutionState` calls, behind a
//! trait so that the local runner (feature `testing`) can serve them from memory.

use std::future::Future;
use std::pin::Pin;

use crate::protocol::{ExecutionStatePage, OperationUpdate};

/// A boxed future, as the service's methods return.
pub type ServiceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServiceError>> + Send + 'a>>;

/// Where a durable execution's checkpoints go.
pub trait CheckpointService: Send + Sync {
    /// Records `updates` for the execution `arn`, with the current checkpoint `token`.
    fn checkpoint<'a>(
        &'a self,
        arn: &'a str,
        token: &'a str,
        updates: Vec<OperationUpdate>,
    ) -> ServiceFuture<'a, CheckpointAnswer>;

    /// The page of the execution's operations that starts at `marker`.
    fn state<'a>(
        &'a self,
        arn: &'a str,
        token: &'a str,
        marker: &'a str,
    ) -> ServiceFuture<'a, ExecutionStatePage>;
}

/// What a checkpoint answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckpointAnswer {
    /// The token of the next checkpoint; `None` when the service revoked it.
    pub checkpoint_token: Option<String>,
    /// The operations the updates changed, as they now stand (a wait's end time, a
    /// callback's id).
    pub new_execution_state: ExecutionStatePage,
}

/// The checkpoint service refused a call or could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint service: {message}")]
pub struct ServiceError {
    /// What went wrong.
    pub message: String,
    /// Whether trying again (a new invocation) may succeed.
    pub retryable: bool,
}
