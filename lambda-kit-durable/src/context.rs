//! The handle a durable handler works through: each operation it starts is checkpointed,
//! and on replay answered from the history instead of run again.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::DurableError;
use crate::id::operation_id;
use crate::plugin::{AttemptInfo, AttemptOutcome, OperationInfo};
use crate::protocol::{
    CallbackOptions, ChainedInvokeOptions, ContextOptions, ErrorObject, Operation, OperationAction,
    OperationStatus, OperationSubType, OperationType, OperationUpdate, StepOptions, WaitOptions,
};
use crate::retry::RetryStrategy;
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

/// How a step's result is written into its checkpoint and read back.
pub trait Serdes<T>: Send + Sync {
    /// The text a result is checkpointed as.
    fn serialize(&self, value: &T) -> Result<String, String>;
    /// A result read back from its checkpoint.
    fn deserialize(&self, text: &str) -> Result<T, String>;
}

/// JSON, with serde: the default [`Serdes`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerdes;

impl<T: Serialize + DeserializeOwned> Serdes<T> for JsonSerdes {
    fn serialize(&self, value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|error| error.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|error| error.to_string())
    }
}

/// How a function is invoked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvokeConfig {
    tenant_id: Option<String>,
}

impl InvokeConfig {
    /// Invokes a tenant-isolated function for `tenant`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }
}

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
        let state = &self.context.inner.state;
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
        let next = operation_id(self.inner.id_prefix.as_deref(), position);
        self.inner.state.operation(&next).is_some()
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
        self.step(name, |_| async {
            Ok::<_, Infallible>(RandomState::new().hash_one(SystemTime::now()))
        })
        .await
    }

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
                    .and_then(|details| details.error)
                    .unwrap_or_default();
                return Err(DurableError::StepFailed {
                    name: name.to_owned(),
                    error: Box::new(error),
                });
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
                let payload = serdes
                    .serialize(&value)
                    .map_err(|message| serdes_error(name, &message))?;
                let value = serdes
                    .deserialize(&payload)
                    .map_err(|message| serdes_error(name, &message))?;
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
        let recorded_error = error.clone();
        let recorded = self
            .update(requested, OperationAction::Fail, |update| {
                update.error = Some(recorded_error);
            })
            .await;
        match recorded {
            Ok(()) => DurableError::StepFailed {
                name: name.to_owned(),
                error: Box::new(error),
            },
            Err(failure) => failure,
        }
    }

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
    async fn child_context<T, F, Fut>(
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
            return child(self.child(self.inner.parent_id.clone(), &requested.id, None)).await;
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
                let recorded_error = error.clone();
                self.update(requested, OperationAction::Fail, |update| {
                    update.error = Some(recorded_error);
                })
                .await?;
                return Err(context_failed(name, Some(error)));
            }
        };
        if details.replay_children {
            // Succeeded before, with a result too large to keep: it was rebuilt just now.
            return Ok(value);
        }
        let payload = serdes
            .serialize(&value)
            .map_err(|message| serdes_error(name, &message))?;
        let replay_children = payload.len() > MAX_CHECKPOINTED_RESULT_BYTES;
        let value = if replay_children {
            value
        } else {
            serdes
                .deserialize(&payload)
                .map_err(|message| serdes_error(name, &message))?
        };
        let payload = if replay_children {
            String::new()
        } else {
            payload
        };
        self.update(requested, OperationAction::Succeed, |update| {
            update.payload = Some(payload);
            update.context_options = Some(ContextOptions { replay_children });
        })
        .await?;
        Ok(value)
    }

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
            Some(OperationStatus::Failed) => {
                return Err(DurableError::StepFailed {
                    name: name.to_owned(),
                    error: Box::new(details.error.unwrap_or_default()),
                });
            }
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
            Some(text) if recorded.is_some() => serdes
                .deserialize(text)
                .map_err(|message| serdes_error(name, &message))?,
            _ => initial_state,
        };
        let attempt = details.attempt + 1;
        let requested = &requested;
        let fail = |error: ErrorObject| async move {
            let recorded_error = error.clone();
            self.update(requested, OperationAction::Fail, |update| {
                update.error = Some(recorded_error);
            })
            .await?;
            Err(DurableError::StepFailed {
                name: name.to_owned(),
                error: Box::new(error),
            })
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
        let payload = serdes
            .serialize(&state)
            .map_err(|message| serdes_error(name, &message))?;
        match decision {
            WaitDecision::Stop => {
                let state = serdes
                    .deserialize(&payload)
                    .map_err(|message| serdes_error(name, &message))?;
                self.update(requested, OperationAction::Succeed, |update| {
                    update.payload = Some(payload);
                })
                .await?;
                Ok(state)
            }
            WaitDecision::Continue(delay) => {
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
            .inner
            .state
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

    /// Invokes the Lambda function `function_name` (a name or ARN, with a version or alias)
    /// with `payload`, and returns what it answered. The invocation runs outside this one,
    /// which is suspended meanwhile; a replay returns the recorded answer. A function that
    /// fails or times out gives [`DurableError::InvokeFailed`], on replays too.
    pub async fn invoke<P, R>(
        &self,
        name: &str,
        function_name: &str,
        payload: &P,
        config: InvokeConfig,
    ) -> Result<R, DurableError>
    where
        P: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.invoke_with_serdes(
            name,
            function_name,
            payload,
            config,
            &JsonSerdes,
            &JsonSerdes,
        )
        .await
    }

    /// [`DurableContext::invoke`], with the payload written by `payload_serdes` and the
    /// answer read by `result_serdes`.
    pub async fn invoke_with_serdes<P, R>(
        &self,
        name: &str,
        function_name: &str,
        payload: &P,
        config: InvokeConfig,
        payload_serdes: &dyn Serdes<P>,
        result_serdes: &dyn Serdes<R>,
    ) -> Result<R, DurableError> {
        let requested = self.next(
            OperationType::ChainedInvoke,
            OperationSubType::ChainedInvoke,
            name,
        );
        if self.recorded(&requested)?.is_none() {
            let payload = payload_serdes
                .serialize(payload)
                .map_err(|message| serdes_error(name, &message))?;
            self.update(&requested, OperationAction::Start, |update| {
                update.payload = Some(payload);
                update.chained_invoke_options = Some(ChainedInvokeOptions {
                    function_name: function_name.to_owned(),
                    tenant_id: config.tenant_id,
                });
            })
            .await?;
        }
        // Read after the start too: the service may have answered at once.
        let operation = self.inner.state.operation(&requested.id);
        let status = operation.as_ref().map(|operation| operation.status);
        let details = operation
            .and_then(|operation| operation.chained_invoke_details)
            .unwrap_or_default();
        let failed = |error_type: &str, message: &str| DurableError::InvokeFailed {
            name: name.to_owned(),
            error: Box::new(
                details
                    .error
                    .clone()
                    .unwrap_or_else(|| ErrorObject::new(error_type, message)),
            ),
        };
        match status {
            Some(OperationStatus::Succeeded) => {
                read_result(name, result_serdes, details.result.as_deref())
            }
            Some(OperationStatus::Failed) => Err(failed("InvokeError", "the function failed")),
            Some(OperationStatus::TimedOut) => Err(failed("InvokeError", "the function timed out")),
            Some(OperationStatus::Stopped | OperationStatus::Cancelled) => {
                Err(failed("InvokeError", "the invocation was stopped"))
            }
            _ => Err(self.suspend(format!("{function_name} has not answered {name:?} yet"))),
        }
    }

    /// Waits for `duration` (whole seconds, at least one) without running: the invocation
    /// is suspended, and a later one resumes after the wait.
    pub async fn wait(&self, name: &str, duration: Duration) -> Result<(), DurableError> {
        let requested = self.next(OperationType::Wait, OperationSubType::Wait, name);
        let recorded = self.recorded(&requested)?;
        let status = match recorded.map(|operation| operation.status) {
            Some(status) => Some(status),
            None => {
                let seconds = duration.as_secs().max(1);
                self.update(&requested, OperationAction::Start, |update| {
                    update.wait_options = Some(WaitOptions {
                        wait_seconds: seconds,
                    });
                })
                .await?;
                // The service may have ended it already.
                self.inner
                    .state
                    .operation(&requested.id)
                    .map(|operation| operation.status)
            }
        };
        match status {
            Some(OperationStatus::Succeeded) => Ok(()),
            _ => Err(self.suspend(format!("wait {name:?} has not ended"))),
        }
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
            id: operation_id(self.inner.id_prefix.as_deref(), position),
            kind,
            sub_type,
            name,
        }
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
    async fn attempt<T, E>(
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

    pub(crate) fn suspend(&self, reason: String) -> DurableError {
        self.inner.state.suspend(reason)
    }
}

/// A step's recorded result, read back by `serdes` (no result reads as JSON `null`).
pub(crate) fn read_result<T>(
    name: &str,
    serdes: &dyn Serdes<T>,
    result: Option<&str>,
) -> Result<T, DurableError> {
    serdes
        .deserialize(result.unwrap_or("null"))
        .map_err(|message| serdes_error(name, &message))
}

/// A child context's failure, with the error it recorded.
pub(crate) fn context_failed(name: &str, error: Option<ErrorObject>) -> DurableError {
    DurableError::ContextFailed {
        name: name.to_owned(),
        error: Box::new(error.unwrap_or_default()),
    }
}

pub(crate) fn serdes_error(name: &str, message: &str) -> DurableError {
    DurableError::Serialization {
        name: name.to_owned(),
        message: message.to_owned(),
    }
}

/// `E`'s name without its module path: the `ErrorType` a failed step records.
fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    // Generic arguments may hold paths too; only the outer path is cut.
    let outer = full.split('<').next().unwrap_or(full);
    outer.rsplit("::").next().unwrap_or(outer)
}

/// A number in [0, 1) for retry jitter: random enough to spread retries, and recorded in
/// the checkpoint, so replays do not depend on it.
fn random_fraction() -> f64 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let bits = RandomState::new().hash_one(DRAWS.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
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

    #[test]
    fn random_fractions_are_in_range() {
        for _ in 0..1000 {
            let value = random_fraction();
            assert!((0.0..1.0).contains(&value), "{value}");
        }
    }
}
