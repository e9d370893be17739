//! `map` and `parallel`, run by the local runner: completion policies, suspension and
//! replay, nesting, large results.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lambda_kit_durable::id::operation_id;
use lambda_kit_durable::protocol::{
    InvocationStatus, Operation, OperationStatus, OperationSubType, OperationType,
};
use lambda_kit_durable::testing::LocalRunner;
use lambda_kit_durable::{
    BatchConfig, BatchItemStatus, BatchResult, Branch, CompletionConfig, CompletionReason,
    DurableContext, DurableError, Nesting, Serdes,
};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
#[error("item {0} failed")]
struct ItemFailed(usize);

/// An item that fails when it is odd, with no retry.
async fn even_only(ctx: DurableContext, item: usize) -> Result<usize, DurableError> {
    let config =
        lambda_kit_durable::StepConfig::default().retry(lambda_kit_durable::RetryStrategy::none());
    ctx.step_with("check", config, |_| async move {
        if item.is_multiple_of(2) {
            Ok(item)
        } else {
            Err(ItemFailed(item))
        }
    })
    .await
}

fn projection<T>(batch: &BatchResult<T>) -> Value {
    json!({
        "reason": format!("{:?}", batch.completion_reason()),
        "succeeded": batch.success_count(),
        "failed": batch.failure_count(),
        "started": batch.started_count(),
        "total": batch.total_count(),
    })
}

fn with_sub_type(operations: &[Operation], sub_type: OperationSubType) -> Vec<&Operation> {
    operations
        .iter()
        .filter(|operation| operation.sub_type == Some(sub_type))
        .collect()
}

#[tokio::test]
async fn map_results_are_in_item_order_whatever_order_items_end_in() {
    let handler = |items: Vec<u64>, ctx: DurableContext| async move {
        let batch = ctx
            .map(
                "double",
                items,
                BatchConfig::default(),
                |ctx, item, _| async move {
                    // Later items end first: each yields fewer times than the one before.
                    for _ in 0..(10 - item) {
                        tokio::task::yield_now().await;
                    }
                    ctx.step("double", |_| async move { Ok::<_, ItemFailed>(item * 2) })
                        .await
                },
            )
            .await?;
        Ok(batch.into_results())
    };
    let runner = LocalRunner::new();
    let run = runner.run(&vec![1u64, 2, 3], handler).await.expect("ends");
    assert_eq!(run.output.result.as_deref(), Some("[2,4,6]"));
    let operations = runner.operations();
    let map = with_sub_type(&operations, OperationSubType::Map);
    assert_eq!(map.len(), 1);
    let iterations = with_sub_type(&operations, OperationSubType::MapIteration);
    assert_eq!(iterations.len(), 3);
    // An item's id derives from its index under the map, from 0.
    for index in 0..3 {
        let id = operation_id(Some(&map[0].id), index);
        assert!(
            iterations
                .iter()
                .any(|operation| operation.id == id
                    && operation.parent_id == Some(map[0].id.clone())),
            "item {index} has the id of its index"
        );
    }
}

#[tokio::test]
async fn the_default_policy_stops_at_the_first_failure_and_the_rest_never_start() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let batch = ctx
            .map(
                "items",
                vec![0usize, 1, 2],
                BatchConfig::default().max_concurrency(1),
                |ctx, item, _| even_only(ctx, item),
            )
            .await?;
        assert_eq!(batch.status(), BatchItemStatus::Failed);
        Ok(projection(&batch))
    };
    let runner = LocalRunner::new();
    let run = runner.run(&json!(null), handler).await.expect("ends");
    let result: Value =
        serde_json::from_str(run.output.result.as_deref().unwrap_or("")).expect("json");
    assert_eq!(
        result,
        json!({"reason": "FailureToleranceExceeded", "succeeded": 1, "failed": 1, "started": 0, "total": 2})
    );
    let iterations = with_sub_type(&runner.operations(), OperationSubType::MapIteration).len();
    assert_eq!(iterations, 2, "item 2 was never started");
}

#[tokio::test]
async fn tolerated_failures_let_every_item_run_and_error_if_failed_fails_the_execution() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let config = BatchConfig::default()
            .max_concurrency(1)
            .completion(CompletionConfig::new().tolerated_failure_count(1));
        let batch = ctx
            .map("items", vec![0usize, 1, 2], config, |ctx, item, _| {
                even_only(ctx, item)
            })
            .await?;
        assert_eq!(batch.completion_reason(), CompletionReason::AllCompleted);
        assert_eq!(batch.results().copied().collect::<Vec<_>>(), vec![0, 2]);
        batch.error_if_failed()?;
        Ok(())
    };
    let run = LocalRunner::new()
        .run(&json!(null), handler)
        .await
        .expect("ends");
    assert_eq!(run.output.status, InvocationStatus::Failed);
    let error = run.output.error.expect("an error");
    assert_eq!(error.error_type.as_deref(), Some("ItemFailed"));
    assert_eq!(error.error_message.as_deref(), Some("item 1 failed"));
}

#[tokio::test]
async fn min_successful_completes_early_and_stops_the_items_still_running() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let config = BatchConfig::default().completion(CompletionConfig::first_successful());
        let slow = Branch::new(|ctx: DurableContext| async move {
            // Still running when the fast branch completes the batch: its step is refused.
            tokio::task::yield_now().await;
            ctx.step("slow", |_| async { Ok::<_, ItemFailed>("slow".to_owned()) })
                .await
        });
        let fast = Branch::new(|_: DurableContext| async move { Ok("fast".to_owned()) });
        let batch = ctx.parallel("race", vec![slow, fast], config).await?;
        Ok(projection(&batch))
    };
    let runner = LocalRunner::new();
    let run = runner.run(&json!(null), handler).await.expect("ends");
    let result: Value =
        serde_json::from_str(run.output.result.as_deref().unwrap_or("")).expect("json");
    assert_eq!(
        result,
        json!({"reason": "MinSuccessfulReached", "succeeded": 1, "failed": 0, "started": 1, "total": 2})
    );
    let operations = runner.operations();
    assert!(
        operations
            .iter()
            .all(|operation| operation.name.as_deref() != Some("slow")),
        "the stopped branch checkpointed nothing after the batch completed"
    );
    let branches = with_sub_type(&operations, OperationSubType::ParallelBranch);
    let slow = branches
        .iter()
        .find(|operation| operation.name.as_deref() == Some("parallel-branch-0"))
        .expect("the slow branch started");
    assert_eq!(slow.status, OperationStatus::Started);
}

#[tokio::test]
async fn a_suspended_branch_resumes_and_the_ended_ones_replay() {
    let runs = Arc::new(AtomicU32::new(0));
    let handler = |_: Value, ctx: DurableContext| {
        let runs = Arc::clone(&runs);
        async move {
            let first = Branch::new(move |ctx: DurableContext| async move {
                ctx.step("b0", |_| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ItemFailed>("b0".to_owned())
                })
                .await
            });
            let second = Branch::new(|ctx: DurableContext| async move {
                ctx.wait("pause", Duration::from_secs(2)).await?;
                Ok("b1".to_owned())
            });
            let batch = ctx
                .parallel(
                    "replay",
                    vec![first, second],
                    BatchConfig::default().max_concurrency(1),
                )
                .await?;
            Ok(batch.into_results())
        }
    };
    let run = LocalRunner::new()
        .run(&json!(null), handler)
        .await
        .expect("ends");
    assert_eq!(run.output.result.as_deref(), Some(r#"["b0","b1"]"#));
    assert_eq!(run.invocations, 2, "the wait suspended the batch");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the ended branch replayed its result"
    );
}

#[tokio::test]
async fn flat_items_record_their_operations_under_the_batch() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let config = BatchConfig::default()
            .max_concurrency(1)
            .nesting(Nesting::Flat);
        let batch = ctx
            .map(
                "flat",
                vec!["fa", "fb"],
                config,
                |ctx, item, _| async move {
                    ctx.step(
                        "echo",
                        |_| async move { Ok::<_, ItemFailed>(item.to_owned()) },
                    )
                    .await
                },
            )
            .await?;
        // Replayed after a wait: the flat items rebuild nothing, the map replays its result.
        ctx.wait("pause", Duration::from_secs(1)).await?;
        Ok(batch.into_results())
    };
    let runner = LocalRunner::new();
    let run = runner.run(&json!(null), handler).await.expect("ends");
    assert_eq!(run.output.result.as_deref(), Some(r#"["fa","fb"]"#));
    let operations = runner.operations();
    assert!(with_sub_type(&operations, OperationSubType::MapIteration).is_empty());
    let map = with_sub_type(&operations, OperationSubType::Map)[0]
        .id
        .clone();
    let steps: Vec<_> = operations
        .iter()
        .filter(|operation| operation.kind == OperationType::Step)
        .collect();
    assert_eq!(steps.len(), 2);
    for index in 0..2 {
        let item_id = operation_id(Some(&map), index);
        let step_id = operation_id(Some(&item_id), 1);
        let step = steps
            .iter()
            .find(|operation| operation.id == step_id)
            .expect("the step's id derives from its item's");
        assert_eq!(step.parent_id.as_deref(), Some(map.as_str()));
    }
}

/// A large result: each item's is 70 KiB.
#[tokio::test]
async fn a_result_too_large_to_keep_is_rebuilt_from_its_items_on_replay() {
    let runs = Arc::new(AtomicU32::new(0));
    let handler = |_: Value, ctx: DurableContext| {
        let runs = Arc::clone(&runs);
        async move {
            let batch = ctx
                .map(
                    "large",
                    vec![0, 1, 2, 3],
                    BatchConfig::default().max_concurrency(1),
                    |ctx, item, _| {
                        let runs = Arc::clone(&runs);
                        async move {
                            ctx.step("make", |_| async move {
                                runs.fetch_add(1, Ordering::SeqCst);
                                Ok::<_, ItemFailed>(format!("{item}").repeat(70 * 1024))
                            })
                            .await
                        }
                    },
                )
                .await?;
            ctx.wait("pause", Duration::from_secs(1)).await?;
            Ok(json!({"succeeded": batch.success_count(), "total": batch.total_count()}))
        }
    };
    let runner = LocalRunner::new();
    let run = runner.run(&json!(null), handler).await.expect("ends");
    assert_eq!(
        run.output.result.as_deref(),
        Some(r#"{"succeeded":4,"total":4}"#)
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        4,
        "the replay read the items' checkpoints"
    );
    let operations = runner.operations();
    let map = with_sub_type(&operations, OperationSubType::Map)[0];
    let details = map.context_details.clone().expect("details");
    assert!(details.replay_children);
    let summary: Value =
        serde_json::from_str(details.result.as_deref().unwrap_or("")).expect("a summary");
    assert_eq!(summary["type"], "MapResult");
    assert_eq!(summary["totalCount"], 4);
    assert_eq!(summary["completionReason"], "ALL_COMPLETED");
}

/// Writes a batch as `OK:<results joined by commas>`.
struct Joined;

impl Serdes<BatchResult<String>> for Joined {
    fn serialize(&self, value: &BatchResult<String>) -> Result<String, String> {
        Ok(format!(
            "OK:{}",
            value.results().cloned().collect::<Vec<_>>().join(",")
        ))
    }

    fn deserialize(&self, text: &str) -> Result<BatchResult<String>, String> {
        let joined = text.strip_prefix("OK:").ok_or("not a joined batch")?;
        let items = joined
            .split(',')
            .enumerate()
            .map(|(index, result)| {
                lambda_kit_durable::BatchItem::succeeded(index, result.to_owned())
            })
            .collect();
        Ok(BatchResult::new(items, CompletionReason::AllCompleted))
    }
}

#[tokio::test]
async fn a_batch_serdes_writes_the_checkpoint_and_reads_it_back_on_replay() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let config = BatchConfig::default().max_concurrency(1).serdes(Joined);
        let batch = ctx
            .map("upper", vec!["x", "y"], config, |_, item, _| async move {
                Ok(item.to_uppercase())
            })
            .await?;
        ctx.wait("pause", Duration::from_secs(1)).await?;
        Ok(batch.into_results())
    };
    let runner = LocalRunner::new();
    let run = runner.run(&json!(null), handler).await.expect("ends");
    assert_eq!(run.output.result.as_deref(), Some(r#"["X","Y"]"#));
    let operations = runner.operations();
    let map = with_sub_type(&operations, OperationSubType::Map)[0];
    assert_eq!(
        map.context_details
            .as_ref()
            .and_then(|details| details.result.as_deref()),
        Some("OK:X,Y")
    );
}

#[tokio::test]
async fn invalid_configurations_fail_before_anything_is_recorded() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let branch = || Branch::new(|_: DurableContext| async { Ok(1) });
        ctx.parallel(
            "bad",
            vec![branch(), branch()],
            BatchConfig::default().max_concurrency(0),
        )
        .await?;
        Ok(())
    };
    let runner = LocalRunner::new();
    let run = runner.run(&json!(null), handler).await.expect("ends");
    assert_eq!(run.output.status, InvocationStatus::Failed);
    let error = run.output.error.expect("an error");
    assert_eq!(error.error_type.as_deref(), Some("ValidationError"));
    assert!(
        runner
            .operations()
            .iter()
            .all(|operation| operation.kind == OperationType::Execution),
        "nothing was checkpointed"
    );
}

#[tokio::test]
async fn nested_parallels_keep_their_results_apart() {
    let handler = |_: Value, ctx: DurableContext| async move {
        let inner = Branch::new(|ctx: DurableContext| async move {
            let leaf = |value: &'static str| {
                Branch::new(move |ctx: DurableContext| async move {
                    ctx.step(
                        "leaf",
                        |_| async move { Ok::<_, ItemFailed>(value.to_owned()) },
                    )
                    .await
                })
            };
            let batch = ctx
                .parallel(
                    "inner",
                    vec![leaf("i1"), leaf("i2")],
                    BatchConfig::default(),
                )
                .await?;
            Ok(batch.into_results())
        });
        let batch = ctx
            .parallel("outer", vec![inner], BatchConfig::default())
            .await?;
        Ok(batch.into_results())
    };
    let run = LocalRunner::new()
        .run(&json!(null), handler)
        .await
        .expect("ends");
    assert_eq!(run.output.result.as_deref(), Some(r#"[["i1","i2"]]"#));
}
