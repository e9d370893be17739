//! `wait_for_condition`: polling a check, with the state checkpointed between checks.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{DurableContext, random_fraction, step_failed};
use crate::error::DurableError;
use crate::protocol::{
    ErrorObject, OperationAction, OperationStatus, OperationSubType, OperationType, StepOptions,
};
use crate::retry::RetryStrategy;
use crate::serdes::{JsonSerdes, Serdes, read_result, round_trip, write_result};
use crate::step::{StepContext, short_type_name};

/// What a [`DurableContext::wait_for_condition`] strategy decides after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitDecision {
    /// The condition holds: the operation succeeds with the state.
    Stop,
    /// Check again after this delay (whole seconds, at least one).
    Continue(Duration),
}

/// A polling strategy for [`DurableContext::wait_for_condition`]: up to `max_attempts`
/// checks, the delay growing by `backoff_rate` from `initial_delay` up to `max_delay`, with
/// full jitter. The defaults are the other SDKs': 60 checks, 5 s growing by 1.5 up to 5
/// minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct PollStrategy {
    delays: RetryStrategy,
}

impl Default for PollStrategy {
    fn default() -> Self {
        PollStrategy {
            delays: RetryStrategy::default()
                .max_attempts(60)
                .initial_delay(Duration::from_secs(5))
                .max_delay(Duration::from_secs(300))
                .backoff_rate(1.5),
        }
    }
}

impl PollStrategy {
    /// Up to `attempts` checks.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.delays = self.delays.max_attempts(attempts);
        self
    }

    /// The delay after the first check.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.delays = self.delays.initial_delay(delay);
        self
    }

    /// The longest delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.delays = self.delays.max_delay(delay);
        self
    }

    /// The factor each delay grows by.
    pub fn backoff_rate(mut self, rate: f64) -> Self {
        self.delays = self.delays.backoff_rate(rate);
        self
    }

    /// Without jitter: exactly the computed delays.
    pub fn without_jitter(mut self) -> Self {
        self.delays = self.delays.without_jitter();
        self
    }

    /// The decision after check `attempt` (from 1): stop when `keep_polling` is false
    /// (a condition met on the last check still succeeds), an `Err` when the checks are
    /// used up, else the next delay.
    pub fn decide(&self, keep_polling: bool, attempt: u32) -> Result<WaitDecision, String> {
        if !keep_polling {
            return Ok(WaitDecision::Stop);
        }
        self.delays
            .next_delay(attempt, random_fraction())
            .map(WaitDecision::Continue)
            .ok_or_else(|| format!("the condition was not met in {attempt} checks"))
    }
}

impl DurableContext {
    /// Polls until a condition holds: `check` turns the state into a new one, `strategy`
    /// decides from it (and the attempt number, from 1) whether to stop or to check again
    /// after a delay. Each check's state is checkpointed; between checks the invocation is
    /// suspended, so the wait costs no compute. Returns the state the last check made.
    ///
    /// A check that fails, or a strategy that gives up (an `Err`, such as
    /// [`PollStrategy::decide`]'s when its attempts run out), fails the operation:
    /// [`DurableError::StepFailed`], on replays too.
    pub async fn wait_for_condition<S, E, C, Fut, W, G>(
        &self,
        name: &str,
        initial_state: S,
        check: C,
        strategy: W,
    ) -> Result<S, DurableError>
    where
        S: Serialize + DeserializeOwned,
        E: std::fmt::Display,
        C: FnOnce(S, StepContext) -> Fut,
        Fut: Future<Output = Result<S, E>>,
        W: FnOnce(&S, u32) -> Result<WaitDecision, G>,
        G: std::fmt::Display,
    {
        self.wait_for_condition_with_serdes(name, initial_state, &JsonSerdes, check, strategy)
            .await
    }

    /// [`DurableContext::wait_for_condition`], with the state checkpointed by `serdes`.
    pub async fn wait_for_condition_with_serdes<S, E, C, Fut, W, G>(
        &self,
        name: &str,
        initial_state: S,
        serdes: &dyn Serdes<S>,
        check: C,
        strategy: W,
    ) -> Result<S, DurableError>
    where
        E: std::fmt::Display,
        C: FnOnce(S, StepContext) -> Fut,
        Fut: Future<Output = Result<S, E>>,
        W: FnOnce(&S, u32) -> Result<WaitDecision, G>,
        G: std::fmt::Display,
    {
        let requested = self.next(
            OperationType::Step,
            OperationSubType::WaitForCondition,
            name,
        );
        let recorded = self.recorded(&requested)?;
        let details = recorded
            .as_ref()
            .and_then(|operation| operation.step_details.clone())
            .unwrap_or_default();
        match recorded.as_ref().map(|operation| operation.status) {
            Some(OperationStatus::Succeeded) => {
                return read_result(name, serdes, details.result.as_deref());
            }
            Some(OperationStatus::Failed) => return Err(step_failed(name, details.error)),
            Some(OperationStatus::Pending) => {
                return Err(self.suspend(format!("{name:?} waits for its next check")));
            }
            Some(OperationStatus::Started) => {}
            _ => {
                self.update(&requested, OperationAction::Start, |_| {})
                    .await?;
            }
        }
        // The state the last check left, or the initial one.
        let state = match details.result.as_deref() {
            Some(text) if recorded.is_some() => read_result(name, serdes, Some(text))?,
            _ => initial_state,
        };
        let attempt = details.attempt + 1;
        let requested = &requested;
        let fail = |error: ErrorObject| async move {
            self.record_failure(requested, &error).await?;
            Err(step_failed(name, Some(error)))
        };
        let state = match self
            .attempt(requested, attempt, check(state, StepContext { attempt }))
            .await
        {
            Ok(state) => state,
            Err(failure) => {
                return fail(ErrorObject::new(
                    short_type_name::<E>(),
                    failure.to_string(),
                ))
                .await;
            }
        };
        let decision = match strategy(&state, attempt) {
            Ok(decision) => decision,
            Err(reason) => {
                return fail(ErrorObject::new(
                    "WaitForConditionError",
                    reason.to_string(),
                ))
                .await;
            }
        };
        match decision {
            WaitDecision::Stop => {
                let (payload, state) = round_trip(name, serdes, &state)?;
                self.update(requested, OperationAction::Succeed, |update| {
                    update.payload = Some(payload);
                })
                .await?;
                Ok(state)
            }
            WaitDecision::Continue(delay) => {
                let payload = write_result(name, serdes, &state)?;
                let seconds = delay.as_secs().max(1);
                self.update(requested, OperationAction::Retry, |update| {
                    update.payload = Some(payload);
                    update.step_options = Some(StepOptions {
                        next_attempt_delay_seconds: seconds,
                    });
                })
                .await?;
                Err(self.suspend(format!("{name:?} checks again in {seconds} s")))
            }
        }
    }
}
