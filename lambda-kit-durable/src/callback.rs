//! Callbacks: an outside system completes them with their id.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::protocol::{
    CallbackOptions, ErrorObject, OperationAction, OperationStatus, OperationSubType, OperationType,
};
use crate::serdes::JsonSerdes;
use crate::step::StepConfig;

/// How a callback is created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallbackConfig {
    timeout: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    submitter: StepConfig,
}

impl CallbackConfig {
    /// The callback times out unless completed within `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The callback times out when no heartbeat came for `timeout`.
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.heartbeat_timeout = Some(timeout);
        self
    }

    /// How [`DurableContext::wait_for_callback`]'s submitter step runs.
    pub fn submitter(mut self, config: StepConfig) -> Self {
        self.submitter = config;
        self
    }
}

/// A callback created by [`DurableContext::create_callback`].
#[derive(Debug, Clone)]
pub struct Callback {
    id: String,
    operation_id: String,
    name: String,
    context: DurableContext,
}

impl Callback {
    /// The id the outside system completes the callback with.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the outside system sent (`None` when it sent no result), once it completed the
    /// callback; until then the handler is suspended ([`DurableError::Suspended`]). A
    /// failure it sent, or a timeout, is [`DurableError::CallbackFailed`].
    pub fn result(&self) -> Result<Option<String>, DurableError> {
        let state = &self.context.state();
        let operation = state.operation(&self.operation_id);
        let status = operation.as_ref().map(|operation| operation.status);
        let details = operation
            .and_then(|operation| operation.callback_details)
            .unwrap_or_default();
        let failed = |error_type: &str, message: &str| DurableError::CallbackFailed {
            name: self.name.clone(),
            error: Box::new(
                details
                    .error
                    .clone()
                    .unwrap_or_else(|| ErrorObject::new(error_type, message)),
            ),
        };
        match status {
            Some(OperationStatus::Succeeded) => Ok(details.result.clone()),
            Some(OperationStatus::Failed) => Err(failed("CallbackError", "the callback failed")),
            Some(OperationStatus::TimedOut) => {
                Err(failed("CallbackTimeoutError", "the callback timed out"))
            }
            Some(OperationStatus::Cancelled | OperationStatus::Stopped) => {
                Err(failed("CallbackError", "the callback was stopped"))
            }
            _ => Err(state.suspend(format!("callback {:?} has not been completed", self.name))),
        }
    }
}

impl DurableContext {
    /// Creates a callback named `name`: an outside system completes it with its id
    /// ([`Callback::id`]) through `SendDurableExecutionCallbackSuccess` or `...Failure`, and
    /// [`Callback::result`] waits for that. Creating it never fails for the callback's
    /// outcome: that comes from `result`, the same on every replay.
    pub async fn create_callback(
        &self,
        name: &str,
        config: CallbackConfig,
    ) -> Result<Callback, DurableError> {
        let requested = self.next(OperationType::Callback, OperationSubType::Callback, name);
        if self.recorded(&requested)?.is_none() {
            self.update(&requested, OperationAction::Start, |update| {
                update.callback_options = Some(CallbackOptions {
                    timeout_seconds: config.timeout.map_or(0, |timeout| timeout.as_secs()),
                    heartbeat_timeout_seconds: config
                        .heartbeat_timeout
                        .map_or(0, |timeout| timeout.as_secs()),
                });
            })
            .await?;
        }
        let id = self
            .state()
            .operation(&requested.id)
            .and_then(|operation| operation.callback_details)
            .map(|details| details.callback_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                DurableError::failed(
                    "CallbackError",
                    format!("the service gave callback {name:?} no id"),
                )
            })?;
        Ok(Callback {
            id,
            operation_id: requested.id,
            name: name.to_owned(),
            context: self.clone(),
        })
    }

    /// Creates a callback, hands its id to `submitter` in a step (retried as `config`
    /// says), and waits for the callback's result: the usual way to ask an outside system
    /// (a person, a queue, a partner's API) to answer. It runs in a child context named
    /// `name`; a failed submitter or callback fails it, as [`DurableError::ContextFailed`].
    pub async fn wait_for_callback<E, F, Fut>(
        &self,
        name: &str,
        config: CallbackConfig,
        submitter: F,
    ) -> Result<Option<String>, DurableError>
    where
        E: std::fmt::Display,
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let prefix = if name.is_empty() {
            String::new()
        } else {
            format!("{name} ")
        };
        let step_config = config.submitter.clone();
        self.child_context(
            name,
            OperationSubType::WaitForCallback,
            &JsonSerdes,
            |child| async move {
                let callback = child
                    .create_callback(&format!("{prefix}create callback id"), config)
                    .await?;
                let id = callback.id().to_owned();
                child
                    .step_with(&format!("{prefix}submitter"), step_config, |_| async move {
                        submitter(id).await.map(|()| Value::Null)
                    })
                    .await?;
                callback.result()
            },
        )
        .await
    }
}
