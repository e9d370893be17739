//! `step`: code whose result is checkpointed, retried by a strategy, at least or at most
//! once per retry.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{DurableContext, Requested, random_fraction, step_failed};
use crate::error::DurableError;
use crate::protocol::{
    ErrorObject, OperationAction, OperationStatus, OperationSubType, OperationType, StepOptions,
};
use crate::retry::RetryStrategy;
use crate::serdes::{JsonSerdes, Serdes, read_result, round_trip};

/// What a step's code is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContext {
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// How a step runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepConfig {
    retry: RetryStrategy,
    semantics: StepSemantics,
}

impl StepConfig {
    /// Retries by `strategy` (default: [`RetryStrategy::default`]).
    pub fn retry(mut self, strategy: RetryStrategy) -> Self {
        self.retry = strategy;
        self
    }

    /// Runs with `semantics` (default: [`StepSemantics::AtLeastOncePerRetry`]).
    pub fn semantics(mut self, semantics: StepSemantics) -> Self {
        self.semantics = semantics;
        self
    }
}

/// What happens to an attempt that was cut off: the process died after the step's start
/// was recorded and before its result was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StepSemantics {
    /// The attempt runs again: the step's code may run more than once per attempt. For
    /// idempotent work.
    #[default]
    AtLeastOncePerRetry,
    /// The attempt counts as failed (`StepInterruptedError`), and the retry strategy
    /// decides: the step's code runs at most once per attempt.
    AtMostOncePerRetry,
}

/// `E`'s name without its module path: the `ErrorType` a failed step records.
pub(crate) fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    // Generic arguments may hold paths too; only the outer path is cut.
    let outer = full.split('<').next().unwrap_or(full);
    outer.rsplit("::").next().unwrap_or(outer)
}

impl DurableContext {
    /// Runs `step` as the named step: its result is checkpointed, and on replay returned
    /// without running it again. A failed attempt is retried by the default
    /// [`RetryStrategy`]; see [`DurableContext::step_with`].
    ///
    /// Semantics: at least once per retry. An attempt that was cut off (the process died
    /// between the step's start and its result) runs again.
    pub async fn step<T, E, F, Fut>(&self, name: &str, step: F) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned,
        E: std::fmt::Display,
        F: FnOnce(StepContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.step_with(name, StepConfig::default(), step).await
    }

    /// [`DurableContext::step`] with its retries and semantics set by `config`.
    pub async fn step_with<T, E, F, Fut>(
        &self,
        name: &str,
        config: StepConfig,
        step: F,
    ) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned,
        E: std::fmt::Display,
        F: FnOnce(StepContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.step_with_serdes(name, config, &JsonSerdes, step).await
    }

    /// [`DurableContext::step_with`], with the result checkpointed by `serdes` instead of
    /// as JSON. The step's value is what `serdes` reads back from what it wrote, on the
    /// first run as on replays, so both see the same value.
    pub async fn step_with_serdes<T, E, F, Fut>(
        &self,
        name: &str,
        config: StepConfig,
        serdes: &dyn Serdes<T>,
        step: F,
    ) -> Result<T, DurableError>
    where
        E: std::fmt::Display,
        F: FnOnce(StepContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let requested = self.next(OperationType::Step, OperationSubType::Step, name);
        let recorded = self.recorded(&requested)?;
        let attempts_made = recorded
            .as_ref()
            .and_then(|operation| operation.step_details.as_ref())
            .map_or(0, |details| details.attempt);
        match recorded.as_ref().map(|operation| operation.status) {
            Some(OperationStatus::Succeeded) => {
                let result = recorded
                    .as_ref()
                    .and_then(|operation| operation.step_details.as_ref())
                    .and_then(|details| details.result.as_deref());
                return read_result(name, serdes, result);
            }
            Some(OperationStatus::Failed) => {
                let error = recorded
                    .and_then(|operation| operation.step_details)
                    .and_then(|details| details.error);
                return Err(step_failed(name, error));
            }
            Some(OperationStatus::Pending) => {
                return Err(self.suspend(format!("step {name:?} waits for its next attempt")));
            }
            Some(OperationStatus::Started) => {
                if config.semantics == StepSemantics::AtMostOncePerRetry {
                    let error = ErrorObject::new(
                        "StepInterruptedError",
                        format!(
                            "step {name:?} was interrupted during attempt {}",
                            attempts_made + 1
                        ),
                    );
                    return Err(self
                        .attempt_failed(&requested, &config, attempts_made + 1, error)
                        .await);
                }
                // Cut off mid-attempt: run it again (at least once per retry).
            }
            _ => {
                self.update(&requested, OperationAction::Start, |_| {})
                    .await?;
            }
        }
        let attempt = attempts_made + 1;
        match self
            .attempt(&requested, attempt, step(StepContext { attempt }))
            .await
        {
            Ok(value) => {
                let (payload, value) = round_trip(name, serdes, &value)?;
                self.update(&requested, OperationAction::Succeed, |update| {
                    update.payload = Some(payload);
                })
                .await?;
                Ok(value)
            }
            Err(failure) => {
                let error = ErrorObject::new(short_type_name::<E>(), failure.to_string());
                Err(self
                    .attempt_failed(&requested, &config, attempt, error)
                    .await)
            }
        }
    }

    /// Records attempt `attempt` of a step as failed with `error`: a retry when the
    /// strategy allows one (the handler is then suspended), else the step's failure.
    async fn attempt_failed(
        &self,
        requested: &Requested<'_>,
        config: &StepConfig,
        attempt: u32,
        error: ErrorObject,
    ) -> DurableError {
        let name = requested.name;
        let retryable = config.retry.retries(
            error.error_type.as_deref().unwrap_or_default(),
            error.error_message.as_deref().unwrap_or_default(),
        );
        let delay = retryable
            .then(|| config.retry.next_delay(attempt, random_fraction()))
            .flatten();
        if let Some(delay) = delay {
            let recorded = self
                .update(requested, OperationAction::Retry, |update| {
                    update.error = Some(error);
                    update.step_options = Some(StepOptions {
                        next_attempt_delay_seconds: delay.as_secs(),
                    });
                })
                .await;
            return match recorded {
                Ok(()) => self.suspend(format!(
                    "step {name:?} retries in {} s (attempt {attempt} failed)",
                    delay.as_secs()
                )),
                Err(failure) => failure,
            };
        }
        match self.record_failure(requested, &error).await {
            Ok(()) => step_failed(name, Some(error)),
            Err(failure) => failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_short_names() {
        assert_eq!(short_type_name::<std::io::Error>(), "Error");
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(short_type_name::<Vec<std::io::Error>>(), "Vec");
    }
}
