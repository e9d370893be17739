//! Instrumentation plugins: code told when an invocation, an operation or an attempt of a
//! step's code starts and ends (to trace, count or log an execution).
//!
//! A plugin cannot change an execution: a hook returns nothing, and a hook that panics is
//! caught and logged, and the execution goes on as without it. Hooks run on the handler's
//! task, in order, so a plugin's own records are ordered as the events were.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::protocol::{
    ErrorObject, InvocationStatus, OperationStatus, OperationSubType, OperationType,
};

/// Hooks into a durable execution. Every hook does nothing by default: implement the ones
/// you need.
///
/// Register plugins with [`DurableFn::plugin`](crate::DurableFn::plugin), or with
/// `testing::LocalRunner::plugin` in tests.
pub trait Plugin: Send + Sync {
    /// An invocation starts, before the handler runs.
    fn on_invocation_start(&self, info: &InvocationInfo<'_>) {
        let _ = info;
    }

    /// An invocation ends, with its answer: `SUCCEEDED` or `FAILED` when the execution
    /// ended, `PENDING` when it was suspended.
    fn on_invocation_end(&self, info: &InvocationEnd<'_>) {
        let _ = info;
    }

    /// An operation starts (before its start is checkpointed).
    fn on_operation_start(&self, info: &OperationInfo<'_>) {
        let _ = info;
    }

    /// An operation ends, as this invocation records it (succeeded or failed). Operations
    /// the service ends (a wait's timer, a callback completed from outside) and operations
    /// replayed from the history do not come here.
    fn on_operation_end(&self, info: &OperationInfo<'_>) {
        let _ = info;
    }

    /// An attempt of a step's code (or of a `wait_for_condition` check) starts.
    fn on_attempt_start(&self, info: &AttemptInfo<'_>) {
        let _ = info;
    }

    /// An attempt ends; [`AttemptInfo::outcome`] says how.
    fn on_attempt_end(&self, info: &AttemptInfo<'_>) {
        let _ = info;
    }
}

/// The invocation a hook is about.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct InvocationInfo<'a> {
    /// The execution's ARN.
    pub execution_arn: &'a str,
    /// Whether this is the execution's first invocation (nothing to replay).
    pub first_invocation: bool,
}

/// An invocation that ended.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct InvocationEnd<'a> {
    /// The invocation.
    pub invocation: InvocationInfo<'a>,
    /// Its answer.
    pub status: InvocationStatus,
    /// The execution's error, when it failed.
    pub error: Option<&'a ErrorObject>,
}

/// The operation a hook is about.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OperationInfo<'a> {
    /// Its id, as the history records it.
    pub id: &'a str,
    /// Its type.
    pub kind: OperationType,
    /// Its sub-type.
    pub sub_type: OperationSubType,
    /// Its name (empty when it has none).
    pub name: &'a str,
    /// The child context it runs in, if any.
    pub parent_id: Option<&'a str>,
    /// Where it stands: `STARTED` at its start, `SUCCEEDED` or `FAILED` at its end.
    pub status: OperationStatus,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The code gave its result.
    Succeeded,
    /// The code failed.
    Failed,
}

/// An attempt of a step's code.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AttemptInfo<'a> {
    /// The step.
    pub operation: OperationInfo<'a>,
    /// The attempt's number, from 1.
    pub attempt: u32,
    /// How it ended (`None` at its start).
    pub outcome: Option<AttemptOutcome>,
}

/// An execution's plugins, in the order they were registered.
#[derive(Clone, Default)]
pub(crate) struct Plugins(Vec<Arc<dyn Plugin>>);

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plugins({})", self.0.len())
    }
}

impl Plugins {
    pub(crate) fn push(&mut self, plugin: Arc<dyn Plugin>) {
        self.0.push(plugin);
    }

    /// Calls `hook` on every plugin; a plugin's panic is logged and goes no further.
    pub(crate) fn emit(&self, hook: impl Fn(&dyn Plugin)) {
        for plugin in &self.0 {
            if catch_unwind(AssertUnwindSafe(|| hook(plugin.as_ref()))).is_err() {
                tracing::warn!("a durable-execution plugin's hook panicked; it was ignored");
            }
        }
    }
}
