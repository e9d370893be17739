//! What can end a durable operation other than its result.

use crate::protocol::ErrorObject;
use crate::service::ServiceError;

/// Why an operation of a [`DurableContext`](crate::DurableContext) did not give its result.
///
/// Propagate it with `?`: [`DurableError::Suspended`] in particular is how a wait or a
/// scheduled retry stops the handler, and the invocation then answers `PENDING`. (Code
/// that swallows it does not keep the execution going: the invocation is suspended all the
/// same once the handler returns.)
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// The execution is suspended until a timer fires; a later invocation resumes it.
    #[error("the execution is suspended: {reason}")]
    Suspended {
        /// What it waits for.
        reason: String,
    },
    /// A step failed for good: its error was not retryable, or its attempts ran out. The
    /// error is the one its last attempt recorded, on every replay too.
    #[error("step {name:?} failed: {}", describe(.error))]
    StepFailed {
        /// The step's name.
        name: String,
        /// Its last attempt's error.
        error: Box<ErrorObject>,
    },
    /// A child context failed: the error its code returned, or that of an operation in it.
    /// On replay, the recorded error.
    #[error("child context {name:?} failed: {}", describe(.error))]
    ContextFailed {
        /// The context's name.
        name: String,
        /// Its error.
        error: Box<ErrorObject>,
    },
    /// A callback was failed by the outside system, or timed out. On replay, the same.
    #[error("callback {name:?} failed: {}", describe(.error))]
    CallbackFailed {
        /// The callback's name.
        name: String,
        /// The error sent, or the timeout.
        error: Box<ErrorObject>,
    },
    /// An invoked function failed, timed out or was stopped. On replay, the same.
    #[error("invocation {name:?} failed: {}", describe(.error))]
    InvokeFailed {
        /// The invoke's name.
        name: String,
        /// The function's error.
        error: Box<ErrorObject>,
    },
    /// The code asked for a different operation than the one recorded at this position:
    /// an execution's code must take the same path on every replay.
    #[error(
        "non-deterministic replay: operation {position} of its context was recorded as \
         {recorded} and is now {requested}"
    )]
    NonDeterministic {
        /// The operation's id.
        position: String,
        /// What the history holds.
        recorded: String,
        /// What the code asked for.
        requested: String,
    },
    /// A result could not be written into its checkpoint or read back.
    #[error("the result of {name:?} does not (de)serialize: {message}")]
    Serialization {
        /// What was being written or read.
        name: String,
        /// What the serializer said.
        message: String,
    },
    /// The operation runs in a branch of a `map` or `parallel` that completed without it
    /// (its completion policy was met): it checkpoints nothing more, and the branch ends.
    #[error("operation {name:?} was stopped: its batch completed without it")]
    Stopped {
        /// The operation's name.
        name: String,
    },
    /// The checkpoint service refused an update or could not be reached.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The handler failed on its own terms; the execution fails with this error.
    #[error("{}", describe(.0))]
    Failed(Box<ErrorObject>),
}

impl DurableError {
    /// A failure of the execution with a type and a message, as the history records it.
    pub fn failed(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        DurableError::Failed(Box::new(ErrorObject::new(error_type, message)))
    }

    /// Whether this ends the invocation (or a batch branch) rather than the operation:
    /// a suspension, a stopped branch, a failed checkpoint. Code that handles an
    /// operation's failure passes these on.
    pub fn ends_invocation(&self) -> bool {
        matches!(
            self,
            DurableError::Suspended { .. }
                | DurableError::Stopped { .. }
                | DurableError::Service(_)
        )
    }

    /// The error as the execution's failure records it.
    pub(crate) fn to_error_object(&self) -> ErrorObject {
        match self {
            DurableError::StepFailed { error, .. }
            | DurableError::ContextFailed { error, .. }
            | DurableError::CallbackFailed { error, .. }
            | DurableError::InvokeFailed { error, .. }
            | DurableError::Failed(error) => (**error).clone(),
            other => ErrorObject::new(other.type_name(), other.to_string()),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            DurableError::Suspended { .. } => "Suspended",
            DurableError::StepFailed { .. } => "StepError",
            DurableError::ContextFailed { .. } => "ChildContextError",
            DurableError::CallbackFailed { .. } => "CallbackError",
            DurableError::InvokeFailed { .. } => "InvokeError",
            DurableError::NonDeterministic { .. } => "NonDeterministicExecution",
            DurableError::Serialization { .. } => "SerializationError",
            DurableError::Stopped { .. } => "Stopped",
            DurableError::Service(_) => "CheckpointError",
            DurableError::Failed(_) => "Error",
        }
    }
}

fn describe(error: &ErrorObject) -> String {
    match (&error.error_type, &error.error_message) {
        (Some(kind), Some(message)) => format!("{kind}: {message}"),
        (Some(kind), None) => kind.clone(),
        (None, Some(message)) => message.clone(),
        (None, None) => "unknown error".to_owned(),
    }
}
