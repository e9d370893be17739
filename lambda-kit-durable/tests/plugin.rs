//! Plugins: what they are told, in which order, and that a failing one changes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_kit_durable::plugin::{
    AttemptInfo, InvocationEnd, InvocationInfo, OperationInfo, Plugin,
};
use lambda_kit_durable::protocol::{InvocationStatus, OperationType};
use lambda_kit_durable::testing::LocalRunner;
use lambda_kit_durable::{DurableContext, DurableError, RetryStrategy, StepConfig};

/// Writes each event it is told of as a line.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn push(&self, line: String) {
        self.0.lock().expect("not poisoned").push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").clone()
    }
}

impl Plugin for Recorder {
    fn on_invocation_start(&self, info: &InvocationInfo<'_>) {
        self.push(format!("invocation-start first={}", info.first_invocation));
    }

    fn on_invocation_end(&self, info: &InvocationEnd<'_>) {
        self.push(format!("invocation-end {:?}", info.status));
    }

    fn on_operation_start(&self, info: &OperationInfo<'_>) {
        if info.kind == OperationType::Step {
            self.push(format!("operation-start {}", info.name));
        }
    }

    fn on_operation_end(&self, info: &OperationInfo<'_>) {
        if info.kind == OperationType::Step {
            self.push(format!("operation-end {} {:?}", info.name, info.status));
        }
    }

    fn on_attempt_start(&self, info: &AttemptInfo<'_>) {
        self.push(format!("attempt-start {}", info.attempt));
    }

    fn on_attempt_end(&self, info: &AttemptInfo<'_>) {
        self.push(format!(
            "attempt-end {} {:?}",
            info.attempt,
            info.outcome.expect("an outcome")
        ));
    }
}

/// Panics in every hook.
struct Faulty;

impl Plugin for Faulty {
    fn on_invocation_start(&self, _: &InvocationInfo<'_>) {
        panic!("invocation-start");
    }

    fn on_invocation_end(&self, _: &InvocationEnd<'_>) {
        panic!("invocation-end");
    }

    fn on_operation_start(&self, _: &OperationInfo<'_>) {
        panic!("operation-start");
    }

    fn on_operation_end(&self, _: &OperationInfo<'_>) {
        panic!("operation-end");
    }

    fn on_attempt_start(&self, _: &AttemptInfo<'_>) {
        panic!("attempt-start");
    }

    fn on_attempt_end(&self, _: &AttemptInfo<'_>) {
        panic!("attempt-end");
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not yet")]
struct NotYet;

/// A step that fails on its first attempt, then a wait.
async fn flaky_then_wait(
    _: serde_json::Value,
    ctx: DurableContext,
) -> Result<String, DurableError> {
    let retry = RetryStrategy::default()
        .max_attempts(2)
        .initial_delay(Duration::from_secs(1));
    let value = ctx
        .step_with(
            "flaky",
            StepConfig::default().retry(retry),
            |step| async move {
                if step.attempt < 2 {
                    Err(NotYet)
                } else {
                    Ok("done".to_owned())
                }
            },
        )
        .await?;
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(value)
}

#[tokio::test]
async fn plugins_are_told_of_invocations_operations_and_attempts_in_order() {
    let recorder = Recorder::default();
    let runner = LocalRunner::new().plugin(recorder.clone());
    let run = runner
        .run(&serde_json::json!(null), flaky_then_wait)
        .await
        .expect("ends");
    assert_eq!(run.output.status, InvocationStatus::Succeeded);
    assert_eq!(
        recorder.lines(),
        [
            "invocation-start first=true",
            "operation-start flaky",
            "attempt-start 1",
            "attempt-end 1 Failed",
            "invocation-end Pending",
            "invocation-start first=false",
            // Each attempt starts the step again.
            "operation-start flaky",
            "attempt-start 2",
            "attempt-end 2 Succeeded",
            "operation-end flaky Succeeded",
            "invocation-end Pending",
            "invocation-start first=false",
            "invocation-end Succeeded",
        ]
    );
}

#[tokio::test]
async fn a_plugin_that_panics_changes_nothing() {
    let plain = LocalRunner::new();
    let expected = plain
        .run(&serde_json::json!(null), flaky_then_wait)
        .await
        .expect("ends");
    let recorder = Recorder::default();
    let faulty = LocalRunner::new().plugin(Faulty).plugin(recorder.clone());
    let run = faulty
        .run(&serde_json::json!(null), flaky_then_wait)
        .await
        .expect("ends");
    assert_eq!(run, expected);
    assert_eq!(faulty.operations().len(), plain.operations().len());
    assert_eq!(
        recorder.lines().len(),
        13,
        "the plugin after the faulty one is told of every event"
    );
}
