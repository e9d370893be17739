//! Child contexts: operations grouped under one, whose result is checkpointed as the
//! group's.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{
    ChildKind, DurableContext, MAX_CHECKPOINTED_RESULT_BYTES, Requested, context_failed,
};
use crate::error::DurableError;
use crate::protocol::{
    ContextOptions, OperationAction, OperationStatus, OperationSubType, OperationType,
};
use crate::serdes::{JsonSerdes, Serdes, read_result, write_result};

impl DurableContext {
    /// Runs `child` in a child context named `name`: its operations are grouped under the
    /// context, and its result is checkpointed as the context's, so a replay returns it
    /// without running the child again. A result over 256 KiB is not checkpointed: a replay
    /// then runs the child again, its operations answering from their own checkpoints.
    ///
    /// An error of the child (its own, or a failed operation it did not handle) fails the
    /// context, and comes back as [`DurableError::ContextFailed`], on replays too.
    pub async fn run_in_child_context<T, F, Fut>(
        &self,
        name: &str,
        child: F,
    ) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        self.run_in_child_context_with_serdes(name, &JsonSerdes, child)
            .await
    }

    /// [`DurableContext::run_in_child_context`], with the result checkpointed by `serdes`.
    /// The context's value is what `serdes` reads back from what it wrote, on the first run
    /// as on replays (a result too large to checkpoint is returned as the child made it).
    pub async fn run_in_child_context_with_serdes<T, F, Fut>(
        &self,
        name: &str,
        serdes: &dyn Serdes<T>,
        child: F,
    ) -> Result<T, DurableError>
    where
        F: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        self.child_context(name, OperationSubType::RunInChildContext, serdes, child)
            .await
    }

    /// A child context recorded with `sub_type` (the operations built on child contexts
    /// record their own).
    pub(crate) async fn child_context<T, F, Fut>(
        &self,
        name: &str,
        sub_type: OperationSubType,
        serdes: &dyn Serdes<T>,
        child: F,
    ) -> Result<T, DurableError>
    where
        F: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        let requested = self.next(OperationType::Context, sub_type, name);
        self.run_child(&requested, serdes, ChildKind::Recorded, child)
            .await
    }

    /// Runs `child` as the child context `requested` of this context. A
    /// [`ChildKind::Virtual`] child records nothing of its own: its operations record this
    /// context as their parent and take their ids from `requested`'s.
    pub(crate) async fn run_child<T, F, Fut>(
        &self,
        requested: &Requested<'_>,
        serdes: &dyn Serdes<T>,
        kind: ChildKind,
        child: F,
    ) -> Result<T, DurableError>
    where
        F: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        let name = requested.name;
        if kind == ChildKind::Virtual {
            return child(self.child(self.parent_id().map(str::to_owned), &requested.id, None))
                .await;
        }
        let recorded = self.recorded(requested)?;
        let details = recorded
            .as_ref()
            .and_then(|operation| operation.context_details.clone())
            .unwrap_or_default();
        match recorded.as_ref().map(|operation| operation.status) {
            Some(OperationStatus::Succeeded) if !details.replay_children => {
                return read_result(name, serdes, details.result.as_deref());
            }
            Some(OperationStatus::Failed) => return Err(context_failed(name, details.error)),
            Some(_) => {}
            None => {
                self.update(requested, OperationAction::Start, |_| {})
                    .await?;
            }
        }
        let context = self.child(Some(requested.id.clone()), &requested.id, None);
        let value = match child(context).await {
            Ok(value) => value,
            // These end the invocation (or the branch), not the context.
            Err(error) if error.ends_invocation() => return Err(error),
            Err(failure) => {
                let error = failure.to_error_object();
                self.record_failure(requested, &error).await?;
                return Err(context_failed(name, Some(error)));
            }
        };
        if details.replay_children {
            // Succeeded before, with a result too large to keep: it was rebuilt just now.
            return Ok(value);
        }
        let payload = write_result(name, serdes, &value)?;
        let replay_children = payload.len() > MAX_CHECKPOINTED_RESULT_BYTES;
        // A result too large to keep is returned as the child made it, and not recorded.
        let (payload, value) = if replay_children {
            (String::new(), value)
        } else {
            let value = read_result(name, serdes, Some(&payload))?;
            (payload, value)
        };
        self.update(requested, OperationAction::Succeed, |update| {
            update.payload = Some(payload);
            update.context_options = Some(ContextOptions { replay_children });
        })
        .await?;
        Ok(value)
    }
}
