//! The parallel suite (8-x).

use std::time::Duration;

use lambda_kit_durable::{
    BatchConfig, Branch, CompletionConfig, DurableContext, DurableError, Nesting,
};
use serde_json::{Value, json};

use crate::{RuntimeError, Wrapped, min_successful_projection, projection, results, sequential};

/// A branch whose step returns `value`.
fn step_branch<'a>(name: &'static str, value: &'static str) -> Branch<'a, String> {
    Branch::new(move |ctx: DurableContext| async move {
        ctx.step(
            name,
            |_| async move { Ok::<_, RuntimeError>(value.to_owned()) },
        )
        .await
    })
}

/// A branch that returns `value` with no operation of its own.
fn constant<'a>(value: &'static str) -> Branch<'a, String> {
    Branch::new(move |_: DurableContext| async move { Ok(value.to_owned()) })
}

/// A branch that fails with "branch <index> failed".
fn failing<'a>(index: usize) -> Branch<'a, String> {
    Branch::new(move |_: DurableContext| async move {
        Err(DurableError::failed(
            "RuntimeError",
            format!("branch {index} failed"),
        ))
    })
}

fn tolerating(completion: CompletionConfig) -> BatchConfig<String> {
    sequential().completion(completion)
}

/// Runs the parallel handler `case`, if it is one.
pub(crate) async fn run(case: &str, ctx: &DurableContext) -> Option<Result<Value, DurableError>> {
    let result = match case {
        // 8-1
        "parallel_basic" => ctx
            .parallel(
                "parallel",
                vec![
                    step_branch("task1", "task-1"),
                    step_branch("task2", "task-2"),
                ],
                sequential(),
            )
            .await
            .map(results),
        // 8-2: no name.
        "parallel_unnamed" => ctx
            .parallel("", vec![constant("alpha"), constant("beta")], sequential())
            .await
            .map(results),
        // 8-3
        "parallel_named_branches" => ctx
            .parallel(
                "named",
                vec![
                    constant("one").named("first"),
                    constant("two").named("second"),
                ],
                sequential(),
            )
            .await
            .map(results),
        // 8-4: each branch keeps its result's type.
        "parallel_mixed_types" => {
            let value =
                |value: Value| Branch::new(move |_: DurableContext| async move { Ok(value) });
            ctx.parallel(
                "mixed",
                vec![
                    value(json!("hello")),
                    value(json!(42)),
                    value(json!({"k": "v"})),
                ],
                sequential(),
            )
            .await
            .map(results)
        }
        // 8-5
        "parallel_empty" => ctx
            .parallel("empty", Vec::<Branch<'_, String>>::new(), sequential())
            .await
            .map(results),
        // 8-6: fail fast.
        "parallel_fail_fast" => ctx
            .parallel(
                "fail-fast",
                vec![constant("ok"), failing(1), constant("never")],
                tolerating(CompletionConfig::new().tolerated_failure_count(0)),
            )
            .await
            .map(|batch| projection(&batch, true)),
        // 8-7: the first failure, rethrown.
        "parallel_rethrow" => {
            let batch = ctx
                .parallel(
                    "rethrow",
                    vec![failing(0), constant("never")],
                    tolerating(CompletionConfig::new().tolerated_failure_count(0)),
                )
                .await;
            batch.and_then(|batch| batch.error_if_failed().map(|()| results(batch)))
        }
        // 8-8
        "parallel_min_successful" => ctx
            .parallel(
                "min-successful",
                vec![constant("a"), constant("b"), constant("c"), constant("d")],
                tolerating(CompletionConfig::new().min_successful(2)),
            )
            .await
            .map(|batch| min_successful_projection(&batch)),
        // 8-9
        "parallel_tolerated_count" => ctx
            .parallel(
                "tolerated",
                vec![constant("a"), failing(1), constant("c")],
                tolerating(CompletionConfig::new().tolerated_failure_count(1)),
            )
            .await
            .map(|batch| projection(&batch, true)),
        // 8-10
        "parallel_tolerated_count_exceeded" => ctx
            .parallel(
                "tolerated-exceeded",
                vec![failing(0), failing(1), constant("c")],
                tolerating(CompletionConfig::new().tolerated_failure_count(1)),
            )
            .await
            .map(|batch| projection(&batch, false)),
        // 8-11: two at a time; results in branch order.
        "parallel_concurrent" => ctx
            .parallel(
                "concurrent",
                vec![constant("r0"), constant("r1"), constant("r2")],
                BatchConfig::default().max_concurrency(2),
            )
            .await
            .map(results),
        // 8-12
        "parallel_flat" => ctx
            .parallel(
                "flat",
                vec![step_branch("step_a", "fa"), step_branch("step_b", "fb")],
                sequential().nesting(Nesting::Flat),
            )
            .await
            .map(results),
        // 8-13
        "parallel_tolerated_percentage_exceeded" => ctx
            .parallel(
                "tolerated-pct",
                vec![failing(0), failing(1), constant("c"), constant("d")],
                tolerating(CompletionConfig::new().tolerated_failure_percentage(25.0)),
            )
            .await
            .map(|batch| projection(&batch, false)),
        // 8-14: the second branch waits; the first replays.
        "parallel_replay" => {
            let waiting = Branch::new(|ctx: DurableContext| async move {
                ctx.wait("", Duration::from_secs(2)).await?;
                Ok("b1".to_owned())
            });
            ctx.parallel(
                "replay",
                vec![step_branch("b0", "b0"), waiting],
                sequential(),
            )
            .await
            .map(results)
        }
        // 8-15: branch results checkpointed as {"wrapped": v}.
        "parallel_item_serdes" => ctx
            .parallel(
                "item-serdes",
                vec![constant("x"), constant("y")],
                sequential().item_serdes(Wrapped),
            )
            .await
            .map(results),
        // 8-16
        "parallel_all_fail_tolerated" => ctx
            .parallel(
                "all-fail",
                vec![failing(0), failing(1), failing(2)],
                tolerating(CompletionConfig::new().tolerated_failure_count(3)),
            )
            .await
            .map(|batch| projection(&batch, true)),
        // 8-17
        "parallel_min_successful_unreached" => ctx
            .parallel(
                "min-unreached",
                vec![constant("a"), failing(1), constant("c")],
                tolerating(CompletionConfig::new().min_successful(3)),
            )
            .await
            .map(|batch| projection(&batch, true)),
        // 8-18
        "parallel_min_successful_and_tolerance" => ctx
            .parallel(
                "combined",
                vec![failing(0), failing(1), constant("c"), constant("d")],
                tolerating(
                    CompletionConfig::new()
                        .min_successful(3)
                        .tolerated_failure_count(1),
                ),
            )
            .await
            .map(|batch| projection(&batch, false)),
        // 8-19
        "parallel_invalid_concurrency" => ctx
            .parallel(
                "invalid",
                vec![constant("a"), constant("b")],
                BatchConfig::default().max_concurrency(0),
            )
            .await
            .map(results),
        // 8-20
        "parallel_accessors" => ctx
            .parallel(
                "accessors",
                vec![constant("a"), failing(1), constant("c")],
                tolerating(CompletionConfig::new().tolerated_failure_count(1)),
            )
            .await
            .map(|batch| {
                json!({
                    "hasFailure": batch.has_failure(),
                    "successCount": batch.succeeded().count(),
                    "failureCount": batch.failed().count(),
                    "errorCount": batch.errors().count(),
                })
            }),
        // 8-21
        "parallel_nested" => {
            let inner = Branch::new(|ctx: DurableContext| async move {
                let batch = ctx
                    .parallel(
                        "inner",
                        vec![step_branch("inner1", "i1"), step_branch("inner2", "i2")],
                        sequential(),
                    )
                    .await?;
                Ok(batch.into_results())
            });
            ctx.parallel("outer", vec![inner], sequential())
                .await
                .map(results)
        }
        // 8-22
        "parallel_tolerated_percentage_boundary" => ctx
            .parallel(
                "pct-boundary",
                vec![failing(0), constant("b"), constant("c"), constant("d")],
                tolerating(CompletionConfig::new().tolerated_failure_percentage(25.0)),
            )
            .await
            .map(|batch| projection(&batch, true)),
        _ => return None,
    };
    Some(result)
}
