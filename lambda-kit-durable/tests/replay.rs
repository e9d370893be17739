//! Replay: what a durable handler sees across invocations, run by the local runner.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lambda_kit_durable::protocol::{InvocationStatus, OperationStatus, OperationType};
use lambda_kit_durable::testing::{LocalRun, LocalRunner};
use lambda_kit_durable::{
    CallbackConfig, DurableContext, DurableError, InvokeConfig, PollStrategy, RetryStrategy,
    StepConfig, WaitDecision,
};

#[derive(Debug, thiserror::Error)]
#[error("card declined")]
struct Declined;

/// Runs `handler` to its end from an empty event; the runner keeps the history.
async fn run_from_empty<R, F, Fut>(handler: F) -> (LocalRunner, LocalRun)
where
    R: serde::Serialize,
    F: Fn(serde_json::Value, DurableContext) -> Fut,
    Fut: std::future::Future<Output = Result<R, DurableError>>,
{
    let runner = LocalRunner::new();
    let run = runner
        .run(&serde_json::json!({}), handler)
        .await
        .expect("the run ends");
    (runner, run)
}

#[tokio::test]
async fn a_step_runs_once_and_replays_its_result_after_a_wait() {
    let runs = Arc::new(AtomicU32::new(0));
    let handler = |name: String, ctx: DurableContext| {
        let runs = Arc::clone(&runs);
        async move {
            let greeting: String = ctx
                .step("greet", |_| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Declined>(format!("hello {name}"))
                })
                .await?;
            ctx.wait("pause", Duration::from_secs(3600)).await?;
            Ok(greeting)
        }
    };
    let runner = LocalRunner::new();
    let run = runner.run(&"Ada", handler).await.expect("the run ends");
    assert_eq!(run.output.status, InvocationStatus::Succeeded);
    assert_eq!(run.output.result.as_deref(), Some("\"hello Ada\""));
    assert_eq!(
        run.invocations, 2,
        "the wait suspended the first invocation"
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the replay read the step's result"
    );
    let kinds: Vec<(OperationType, OperationStatus, Option<String>)> = runner
        .operations()
        .into_iter()
        .map(|operation| (operation.kind, operation.status, operation.name))
        .collect();
    assert_eq!(
        kinds,
        [
            (OperationType::Execution, OperationStatus::Started, None),
            (
                OperationType::Step,
                OperationStatus::Succeeded,
                Some("greet".to_owned())
            ),
            (
                OperationType::Wait,
                OperationStatus::Succeeded,
                Some("pause".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn a_failing_step_is_retried_in_later_invocations_until_it_succeeds() {
    let attempts = Arc::new(AtomicU32::new(0));
    let handler = |_: serde_json::Value, ctx: DurableContext| {
        let attempts = Arc::clone(&attempts);
        async move {
            let config = StepConfig::default().retry(
                RetryStrategy::default()
                    .max_attempts(3)
                    .initial_delay(Duration::from_secs(2))
                    .without_jitter(),
            );
            ctx.step_with("charge", config, |step| async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                if step.attempt < 3 {
                    Err(Declined)
                } else {
                    Ok(step.attempt)
                }
            })
            .await
        }
    };
    let (runner, run) = run_from_empty(handler).await;
    assert_eq!(run.output.result.as_deref(), Some("3"));
    assert_eq!(run.invocations, 3, "each retry waits in a new invocation");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let step = &runner.operations()[1];
    let details = step.step_details.as_ref().expect("step details");
    assert_eq!(details.attempt, 3);
    assert_eq!(details.result.as_deref(), Some("3"));
}

#[tokio::test]
async fn a_step_out_of_attempts_fails_the_execution_with_its_error() {
    let handler = |_: serde_json::Value, ctx: DurableContext| async move {
        let config = StepConfig::default().retry(RetryStrategy::default().max_attempts(2));
        ctx.step_with("charge", config, |_| async { Err::<u32, _>(Declined) })
            .await
    };
    let (runner, run) = run_from_empty(handler).await;
    assert_eq!(run.output.status, InvocationStatus::Failed);
    let error = run.output.error.expect("an error");
    assert_eq!(error.error_type.as_deref(), Some("Declined"));
    assert_eq!(error.error_message.as_deref(), Some("card declined"));
    assert_eq!(run.invocations, 2);
    assert_eq!(runner.operations()[1].status, OperationStatus::Failed);

    // A replay of the failed step gives the same error without running it.
    let replayed = runner
        .resume(|_: serde_json::Value, ctx: DurableContext| async move {
            ctx.step("charge", |_| async { Ok::<u32, Declined>(1) })
                .await
        })
        .await
        .expect("ends");
    assert_eq!(
        replayed.output.error.and_then(|e| e.error_type).as_deref(),
        Some("Declined")
    );
}

#[tokio::test]
async fn code_that_takes_another_path_on_replay_fails_loudly() {
    let runner = LocalRunner::new();
    // The first version waits first: suspended, with a wait recorded at position 1.
    let first = runner
        .run(
            &serde_json::json!({}),
            |_: serde_json::Value, ctx: DurableContext| async move {
                ctx.wait("pause", Duration::from_secs(60)).await?;
                Ok(())
            },
        )
        .await;
    assert!(first.is_ok());
    // Deployed code that starts with a step instead cannot replay that history.
    let changed = runner
        .resume(|_: serde_json::Value, ctx: DurableContext| async move {
            ctx.step("charge", |_| async { Ok::<u32, Declined>(1) })
                .await
        })
        .await
        .expect("ends");
    assert_eq!(changed.output.status, InvocationStatus::Failed);
    let error = changed.output.error.expect("an error");
    assert_eq!(
        error.error_type.as_deref(),
        Some("NonDeterministicExecution")
    );
    let message = error.error_message.unwrap_or_default();
    assert!(
        message.contains("Wait") && message.contains("Step"),
        "{message}"
    );
}

#[tokio::test]
async fn a_step_cut_off_after_its_start_runs_again() {
    let runner = LocalRunner::new();
    let started = Arc::new(tokio::sync::Notify::new());
    // The first invocation dies inside the step, after its START was checkpointed: the
    // run is dropped once the step's code has begun.
    let crashing = {
        let started = Arc::clone(&started);
        move |_: serde_json::Value, ctx: DurableContext| {
            let started = Arc::clone(&started);
            async move {
                ctx.step("charge", |_| async move {
                    started.notify_one();
                    std::future::pending::<Result<u32, Declined>>().await
                })
                .await
            }
        }
    };
    let event = serde_json::json!({});
    tokio::select! {
        _ = runner.run(&event, crashing) => panic!("the step never ends"),
        () = started.notified() => {}
    }
    assert_eq!(runner.operations()[1].status, OperationStatus::Started);
    // At least once per retry: the next invocation runs the step again, as attempt 1.
    let resumed = runner
        .resume(|_: serde_json::Value, ctx: DurableContext| async move {
            ctx.step(
                "charge",
                |step| async move { Ok::<u32, Declined>(step.attempt) },
            )
            .await
        })
        .await
        .expect("ends");
    assert_eq!(resumed.output.result.as_deref(), Some("1"));
    assert_eq!(runner.operations()[1].status, OperationStatus::Succeeded);
}

#[tokio::test]
async fn ids_depend_on_position_and_context_only() {
    let runner = LocalRunner::new();
    runner
        .run(
            &serde_json::json!({}),
            |_: serde_json::Value, ctx: DurableContext| async move {
                ctx.step("a", |_| async { Ok::<u8, Declined>(1) }).await?;
                ctx.step("b", |_| async { Ok::<u8, Declined>(2) }).await
            },
        )
        .await
        .expect("ends");
    let ids: Vec<String> = runner.operations()[1..]
        .iter()
        .map(|operation| operation.id.clone())
        .collect();
    assert_eq!(
        ids,
        [
            lambda_kit_durable::id::operation_id(None, 1),
            lambda_kit_durable::id::operation_id(None, 2)
        ]
    );
}

#[tokio::test]
async fn a_child_context_s_result_is_replayed_without_running_it_again() {
    let runs = Arc::new(AtomicU32::new(0));
    let handler = |_: serde_json::Value, ctx: DurableContext| {
        let runs = Arc::clone(&runs);
        async move {
            let total: u32 = ctx
                .run_in_child_context("sum", |child| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let a: u32 = child.step("a", |_| async { Ok::<_, Declined>(2) }).await?;
                    let b: u32 = child.step("b", |_| async { Ok::<_, Declined>(3) }).await?;
                    Ok(a + b)
                })
                .await?;
            ctx.wait("pause", Duration::from_secs(5)).await?;
            Ok(total)
        }
    };
    let (runner, run) = run_from_empty(handler).await;
    assert_eq!(run.output.result.as_deref(), Some("5"));
    assert_eq!(run.invocations, 2);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the replay read the context's result"
    );
    let operations = runner.operations();
    let context = &operations[1];
    assert_eq!(context.kind, OperationType::Context);
    // The steps hang off the context, with ids in its own namespace.
    for (position, step) in operations[2..4].iter().enumerate() {
        assert_eq!(step.parent_id.as_deref(), Some(context.id.as_str()));
        let expected = lambda_kit_durable::id::operation_id(Some(&context.id), position as u64 + 1);
        assert_eq!(step.id, expected);
    }
}

#[tokio::test]
async fn a_child_context_too_large_to_checkpoint_is_run_again_on_replay() {
    let runs = Arc::new(AtomicU32::new(0));
    let handler = |_: serde_json::Value, ctx: DurableContext| {
        let runs = Arc::clone(&runs);
        async move {
            let large: String = ctx
                .run_in_child_context("large", |child| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let piece: String = child
                        .step("piece", |_| async {
                            Ok::<_, Declined>("x".repeat(100 * 1024))
                        })
                        .await?;
                    Ok(piece.repeat(3))
                })
                .await?;
            ctx.wait("pause", Duration::from_secs(5)).await?;
            Ok(large.len())
        }
    };
    let (runner, run) = run_from_empty(handler).await;
    assert_eq!(run.output.result.as_deref(), Some("307200"));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the replay rebuilt the result"
    );
    let details = runner.operations()[1]
        .context_details
        .clone()
        .expect("details");
    assert!(details.replay_children);
    assert_eq!(details.result.as_deref(), Some(""));
}

#[tokio::test]
async fn a_failed_child_context_fails_the_same_way_on_replay() {
    let handler = |_: serde_json::Value, ctx: DurableContext| async move {
        let failed = ctx
            .run_in_child_context("charge", |child| async move {
                let config = StepConfig::default().retry(RetryStrategy::none());
                child
                    .step_with("card", config, |_| async { Err::<u32, _>(Declined) })
                    .await
            })
            .await;
        let message = match failed {
            Err(DurableError::ContextFailed { error, .. }) => error.error_message,
            other => panic!("expected ContextFailed, got {other:?}"),
        };
        ctx.wait("pause", Duration::from_secs(1)).await?;
        Ok(message)
    };
    let (runner, run) = run_from_empty(handler).await;
    assert_eq!(run.output.result.as_deref(), Some("\"card declined\""));
    assert_eq!(
        run.invocations, 2,
        "the second invocation replayed the failure"
    );
    assert_eq!(runner.operations()[1].status, OperationStatus::Failed);
}

#[tokio::test]
async fn a_condition_is_checked_once_per_invocation_with_its_state_checkpointed() {
    let checks = Arc::new(AtomicU32::new(0));
    let handler = |_: serde_json::Value, ctx: DurableContext| {
        let checks = Arc::clone(&checks);
        async move {
            ctx.wait_for_condition(
                "poll",
                0_u32,
                |state, _| async move {
                    checks.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Declined>(state + 1)
                },
                |state, _| {
                    Ok::<_, Declined>(if *state >= 3 {
                        WaitDecision::Stop
                    } else {
                        WaitDecision::Continue(Duration::from_secs(10))
                    })
                },
            )
            .await
        }
    };
    let (_, run) = run_from_empty(handler).await;
    assert_eq!(run.output.result.as_deref(), Some("3"));
    assert_eq!(run.invocations, 3, "a suspension between checks");
    assert_eq!(
        checks.load(Ordering::SeqCst),
        3,
        "each check ran once, from the saved state"
    );
}

#[tokio::test]
async fn a_poll_strategy_out_of_attempts_fails_the_condition() {
    let handler = |_: serde_json::Value, ctx: DurableContext| async move {
        let strategy = PollStrategy::default().max_attempts(2).without_jitter();
        ctx.wait_for_condition(
            "poll",
            0_u32,
            |state, _| async move { Ok::<_, Declined>(state + 1) },
            |_, attempt| strategy.decide(true, attempt),
        )
        .await
    };
    let (_, run) = run_from_empty(handler).await;
    assert_eq!(run.output.status, InvocationStatus::Failed);
    let error = run.output.error.expect("an error");
    assert_eq!(error.error_type.as_deref(), Some("WaitForConditionError"));
    assert_eq!(run.invocations, 2);
}

#[tokio::test]
async fn a_callback_suspends_until_completed_from_outside() {
    let handler = |_: serde_json::Value, ctx: DurableContext| async move {
        let callback = ctx
            .create_callback("approval", CallbackConfig::default())
            .await?;
        callback.result()
    };
    let runner = LocalRunner::new();
    let waiting = runner
        .run(&serde_json::json!({}), handler)
        .await
        .expect("suspends");
    assert_eq!(waiting.output.status, InvocationStatus::Pending);
    let pending = runner.pending_callbacks();
    assert_eq!(pending.len(), 1);
    runner
        .succeed_callback(&pending[0], "approved by Ada")
        .expect("a waiting callback");
    let done = runner.resume(handler).await.expect("ends");
    assert_eq!(done.output.result.as_deref(), Some("\"approved by Ada\""));
    assert!(runner.pending_callbacks().is_empty());
}

#[tokio::test]
async fn a_failed_callback_and_a_failed_submitter_fail_their_operations() {
    let handler = |_: serde_json::Value, ctx: DurableContext| async move {
        let outcome = ctx
            .wait_for_callback("approval", CallbackConfig::default(), |id| async move {
                assert!(id.starts_with("callback-"), "{id}");
                Ok::<_, Declined>(())
            })
            .await;
        match outcome {
            Err(DurableError::ContextFailed { error, .. }) => Ok(error.error_message),
            other => other.map(|_| None),
        }
    };
    let runner = LocalRunner::new();
    runner
        .run(&serde_json::json!({}), handler)
        .await
        .expect("suspends");
    let id = runner
        .pending_callbacks()
        .pop()
        .expect("a waiting callback");
    runner
        .fail_callback(
            &id,
            lambda_kit_durable::protocol::ErrorObject::new("Rejected", "no budget"),
        )
        .expect("a waiting callback");
    let done = runner.resume(handler).await.expect("ends");
    assert_eq!(done.output.result.as_deref(), Some("\"no budget\""));

    // A submitter that fails (no retries) fails the wait without a callback completed.
    let (_, run) = run_from_empty(|_: serde_json::Value, ctx: DurableContext| async move {
        let config =
            CallbackConfig::default().submitter(StepConfig::default().retry(RetryStrategy::none()));
        ctx.wait_for_callback("approval", config, |_| async { Err::<(), _>(Declined) })
            .await
    })
    .await;
    assert_eq!(run.output.status, InvocationStatus::Failed);
    let error = run.output.error.expect("an error");
    assert_eq!(error.error_type.as_deref(), Some("Declined"));
}

#[tokio::test]
async fn an_invoke_records_its_function_and_payload_and_suspends() {
    let (runner, run) = run_from_empty(|_: serde_json::Value, ctx: DurableContext| async move {
        let answer: serde_json::Value = ctx
            .invoke(
                "price",
                "arn:aws:lambda:us-east-1:123456789012:function:pricing:live",
                &serde_json::json!({"sku": 7}),
                InvokeConfig::default().tenant_id("acme"),
            )
            .await?;
        Ok(answer)
    })
    .await;
    assert_eq!(run.output.status, InvocationStatus::Pending);
    let invoke = &runner.operations()[1];
    assert_eq!(invoke.kind, OperationType::ChainedInvoke);
    assert_eq!(invoke.status, OperationStatus::Started);
    assert_eq!(invoke.name.as_deref(), Some("price"));
}

/// Counts the events logged while it is the default subscriber.
struct CountingSubscriber(Arc<AtomicU32>);

impl tracing::Subscriber for CountingSubscriber {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn replayed_code_knows_it_and_logs_once_per_execution() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let handler = |_: serde_json::Value, ctx: DurableContext| {
        let seen = Arc::clone(&seen);
        async move {
            let mark = |at: &str| {
                seen.lock()
                    .expect("unpoisoned")
                    .push((at.to_owned(), ctx.is_replaying()))
            };
            mark("start");
            lambda_kit_durable::info!(ctx, "starting");
            let at = ctx.now("clock").await?;
            let draw = ctx.random("draw").await?;
            mark("before wait");
            lambda_kit_durable::info!(ctx, "waiting");
            ctx.wait("pause", Duration::from_secs(60)).await?;
            mark("after wait");
            lambda_kit_durable::info!(ctx, "done");
            Ok((
                at.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis()),
                draw,
            ))
        }
    };
    let logged = Arc::new(AtomicU32::new(0));
    let subscriber = CountingSubscriber(Arc::clone(&logged));
    let runner = LocalRunner::new();
    let run = tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(runner.run(&serde_json::json!(null), handler))
    })
    .expect("ends");
    assert_eq!(run.invocations, 2);
    let seen: Vec<(String, bool)> = seen.lock().expect("unpoisoned").clone();
    assert_eq!(
        seen,
        [
            ("start".to_owned(), false),
            ("before wait".to_owned(), false),
            ("start".to_owned(), true),
            ("before wait".to_owned(), true),
            ("after wait".to_owned(), false),
        ]
    );
    assert_eq!(
        logged.load(Ordering::SeqCst),
        3,
        "each line once, not once per invocation"
    );
    // The recorded time and number are the result's, read back on the replay.
    let operations = runner.operations();
    let recorded = |name: &str| {
        operations
            .iter()
            .find(|operation| operation.name.as_deref() == Some(name))
            .and_then(|operation| operation.step_details.as_ref())
            .and_then(|details| details.result.clone())
            .expect("recorded")
    };
    let result: serde_json::Value =
        serde_json::from_str(run.output.result.as_deref().unwrap_or("")).expect("json");
    assert_eq!(result[0].to_string(), recorded("clock"));
    assert_eq!(result[1].to_string(), recorded("draw"));
}
