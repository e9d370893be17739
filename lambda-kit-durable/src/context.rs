//! The handle a durable handler works through: each operation it starts is checkpointed,
//! and on replay answered from the history instead of run again.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::DurableError;
use crate::id::operation_id;
use crate::plugin::{AttemptInfo, AttemptOutcome, OperationInfo};
use crate::protocol::{
    ErrorObject, Operation, OperationAction, OperationStatus, OperationSubType, OperationType,
    OperationUpdate,
};
use crate::state::ExecutionState;

/// A durable execution's context: start operations through it.
///
/// Cheap to clone; clones share the position counter, so an operation's id depends only on
/// the order in which the code starts operations, which must be the same on every replay.
#[derive(Debug, Clone)]
pub struct DurableContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Arc<ExecutionState>,
    /// The parent operation its operations record: the child context's operation id,
    /// `None` at the top level. A flat batch branch records its batch here.
    parent_id: Option<String>,
    /// What its operations' ids derive from: `parent_id`, except in a flat batch branch,
    /// whose operations take their ids from the branch's own id.
    id_prefix: Option<String>,
    /// Operations started in this context so far.
    started: AtomicU64,
    /// Set when a batch this context runs in completed without it: its operations then
    /// checkpoint nothing more ([`DurableError::Stopped`]).
    stops: Vec<Arc<AtomicBool>>,
}

/// The largest result a child context checkpoints; a larger one is rebuilt on replay.
pub(crate) const MAX_CHECKPOINTED_RESULT_BYTES: usize = 256 * 1024;

/// The identity of an operation the code asks for, checked against the history.
pub(crate) struct Requested<'a> {
    pub(crate) id: String,
    pub(crate) kind: OperationType,
    pub(crate) sub_type: OperationSubType,
    pub(crate) name: &'a str,
}

/// Whether a child context records its own start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildKind {
    /// It does: a `CONTEXT` operation with its result.
    Recorded,
    /// It does not (a flat batch branch): only its operations are recorded.
    Virtual,
}

impl DurableContext {
    /// The top-level context of an execution.
    pub(crate) fn root(state: Arc<ExecutionState>) -> Self {
        DurableContext {
            inner: Arc::new(Inner {
                state,
                parent_id: None,
                id_prefix: None,
                started: AtomicU64::new(0),
                stops: Vec::new(),
            }),
        }
    }

    /// The execution's ARN: the same in every invocation of the execution.
    pub fn execution_arn(&self) -> &str {
        self.inner.state.arn()
    }

    /// Whether the code running now already ran in an earlier invocation: the next
    /// operation this context will start is in the history. Code between operations runs
    /// again on every replay; [`info!`](crate::info) and the other logging macros use
    /// this to log each line once per execution, not once per invocation.
    pub fn is_replaying(&self) -> bool {
        let position = self.inner.started.load(Ordering::SeqCst) + 1;
        self.inner.state.operation(&self.id_at(position)).is_some()
    }

    /// The current time, recorded as the step `name`: a replay gets the time of the first
    /// run, so code that branches on it takes the same path every time.
    pub async fn now(&self, name: &str) -> Result<SystemTime, DurableError> {
        let millis: u64 = self
            .step(name, |_| async {
                let since_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                Ok::<_, Infallible>(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
            })
            .await?;
        Ok(UNIX_EPOCH + Duration::from_millis(millis))
    }

    /// A random number, recorded as the step `name`: a replay gets the same number (for
    /// ids, sampling, jitter the code decides on).
    pub async fn random(&self, name: &str) -> Result<u64, DurableError> {
        self.step(name, |_| async { Ok::<_, Infallible>(random_u64()) })
            .await
    }

    /// A context for the operations of `id`: they record `parent_id` as their parent and
    /// derive their ids from `id`. A `stop` flag stops them, and those of its children,
    /// once set.
    pub(crate) fn child(
        &self,
        parent_id: Option<String>,
        id: &str,
        stop: Option<Arc<AtomicBool>>,
    ) -> DurableContext {
        let mut stops = self.inner.stops.clone();
        stops.extend(stop);
        DurableContext {
            inner: Arc::new(Inner {
                state: Arc::clone(&self.inner.state),
                parent_id,
                id_prefix: Some(id.to_owned()),
                started: AtomicU64::new(0),
                stops,
            }),
        }
    }

    /// The operation this context's operations record as their parent.
    pub(crate) fn parent_id(&self) -> Option<&str> {
        self.inner.parent_id.as_deref()
    }

    /// The execution's state.
    pub(crate) fn state(&self) -> &ExecutionState {
        &self.inner.state
    }

    /// The next operation's identity in this context.
    pub(crate) fn next<'a>(
        &self,
        kind: OperationType,
        sub_type: OperationSubType,
        name: &'a str,
    ) -> Requested<'a> {
        let position = self.inner.started.fetch_add(1, Ordering::SeqCst) + 1;
        Requested {
            id: self.id_at(position),
            kind,
            sub_type,
            name,
        }
    }

    /// The id of this context's operation at `position` (from 1).
    fn id_at(&self, position: u64) -> String {
        operation_id(self.inner.id_prefix.as_deref(), position)
    }

    /// The recorded operation at `requested`'s position, if it is the same operation.
    pub(crate) fn recorded(
        &self,
        requested: &Requested<'_>,
    ) -> Result<Option<Operation>, DurableError> {
        let Some(operation) = self.inner.state.operation(&requested.id) else {
            return Ok(None);
        };
        let same = operation.kind == requested.kind
            && operation
                .sub_type
                .is_none_or(|sub_type| sub_type == requested.sub_type)
            && operation.name.as_deref().unwrap_or_default() == requested.name
            && operation.parent_id == self.inner.parent_id;
        if same {
            Ok(Some(operation))
        } else {
            Err(DurableError::NonDeterministic {
                position: requested.id.clone(),
                recorded: match operation.sub_type {
                    Some(sub_type) => {
                        format!("{sub_type:?} {:?}", operation.name.unwrap_or_default())
                    }
                    None => format!(
                        "{:?} {:?}",
                        operation.kind,
                        operation.name.unwrap_or_default()
                    ),
                },
                requested: format!("{:?} {:?}", requested.sub_type, requested.name),
            })
        }
    }

    /// Runs attempt `attempt` of `requested`'s code, telling the plugins.
    pub(crate) async fn attempt<T, E>(
        &self,
        requested: &Requested<'_>,
        attempt: u32,
        code: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let plugins = &self.inner.state.plugins;
        let info = |outcome| AttemptInfo {
            operation: self.operation_info(requested, OperationStatus::Started),
            attempt,
            outcome,
        };
        plugins.emit(|plugin| plugin.on_attempt_start(&info(None)));
        let result = code.await;
        let outcome = match result {
            Ok(_) => AttemptOutcome::Succeeded,
            Err(_) => AttemptOutcome::Failed,
        };
        plugins.emit(|plugin| plugin.on_attempt_end(&info(Some(outcome))));
        result
    }

    /// What plugins are told of `requested`.
    fn operation_info<'a>(
        &'a self,
        requested: &'a Requested<'_>,
        status: OperationStatus,
    ) -> OperationInfo<'a> {
        OperationInfo {
            id: &requested.id,
            kind: requested.kind,
            sub_type: requested.sub_type,
            name: requested.name,
            parent_id: self.inner.parent_id.as_deref(),
            status,
        }
    }

    /// Checkpoints `action` on `requested`, with what `fill` adds.
    pub(crate) async fn update(
        &self,
        requested: &Requested<'_>,
        action: OperationAction,
        fill: impl FnOnce(&mut OperationUpdate),
    ) -> Result<(), DurableError> {
        if self
            .inner
            .stops
            .iter()
            .any(|stop| stop.load(Ordering::SeqCst))
        {
            return Err(DurableError::Stopped {
                name: requested.name.to_owned(),
            });
        }
        let mut update = OperationUpdate {
            parent_id: self.inner.parent_id.clone(),
            name: (!requested.name.is_empty()).then(|| requested.name.to_owned()),
            sub_type: Some(requested.sub_type),
            ..OperationUpdate::new(requested.id.clone(), requested.kind, action)
        };
        fill(&mut update);
        let plugins = &self.inner.state.plugins;
        if action == OperationAction::Start {
            let info = self.operation_info(requested, OperationStatus::Started);
            plugins.emit(|plugin| plugin.on_operation_start(&info));
        }
        self.inner.state.checkpoint(update).await?;
        let ended = match action {
            OperationAction::Succeed => Some(OperationStatus::Succeeded),
            OperationAction::Fail => Some(OperationStatus::Failed),
            _ => None,
        };
        if let Some(status) = ended {
            let info = self.operation_info(requested, status);
            plugins.emit(|plugin| plugin.on_operation_end(&info));
        }
        Ok(())
    }

    /// Checkpoints `requested` as failed with `error`.
    pub(crate) async fn record_failure(
        &self,
        requested: &Requested<'_>,
        error: &ErrorObject,
    ) -> Result<(), DurableError> {
        self.update(requested, OperationAction::Fail, |update| {
            update.error = Some(error.clone());
        })
        .await
    }

    pub(crate) fn suspend(&self, reason: String) -> DurableError {
        self.inner.state.suspend(reason)
    }
}

/// A child context's failure, with the error it recorded.
pub(crate) fn context_failed(name: &str, error: Option<ErrorObject>) -> DurableError {
    DurableError::ContextFailed {
        name: name.to_owned(),
        error: Box::new(error.unwrap_or_default()),
    }
}

/// A step's failure, with the error it recorded.
pub(crate) fn step_failed(name: &str, error: Option<ErrorObject>) -> DurableError {
    DurableError::StepFailed {
        name: name.to_owned(),
        error: Box::new(error.unwrap_or_default()),
    }
}

/// A number in [0, 1) for retry jitter: random enough to spread retries, and recorded in
/// the checkpoint, so replays do not depend on it.
pub(crate) fn random_fraction() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// 64 random bits: a count of draws hashed with the randomly keyed `RandomState`, so no
/// two draws of a process repeat and no process's draws are another's.
fn random_u64() -> u64 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(DRAWS.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_fractions_are_in_range() {
        for _ in 0..1000 {
            let value = random_fraction();
            assert!((0.0..1.0).contains(&value), "{value}");
        }
    }
}
