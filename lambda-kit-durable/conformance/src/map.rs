//! The map suite (9-x).

use std::time::Duration;

use lambda_kit_durable::{
    BatchConfig, BatchItem, BatchResult, CompletionConfig, CompletionReason, DurableContext,
    DurableError, Nesting, Serdes,
};
use serde_json::{Value, json};

use crate::{RuntimeError, min_successful_projection, projection, results, sequential};

/// The event's items (none when it has none).
fn items(event: &Value) -> Vec<Value> {
    event.as_array().cloned().unwrap_or_default()
}

/// Succeeds with "ok" for the items in `good`, fails for the others.
async fn ok_unless_failing(index: usize, good: &[usize]) -> Result<String, DurableError> {
    if good.contains(&index) {
        Ok("ok".to_owned())
    } else {
        Err(DurableError::failed(
            "RuntimeError",
            format!("item {index} failed"),
        ))
    }
}

/// A map over `count` items under `completion`, where the items in `good` succeed.
async fn policy_map(
    ctx: &DurableContext,
    name: &str,
    count: usize,
    good: &[usize],
    completion: CompletionConfig,
) -> Result<BatchResult<String>, DurableError> {
    ctx.map(
        name,
        (0..count).collect(),
        sequential().completion(completion),
        |_, _, index| ok_unless_failing(index, good),
    )
    .await
}

/// Uppercases each of `items`, with no operation of its own.
async fn upper_map(
    ctx: &DurableContext,
    items: Vec<&str>,
    config: BatchConfig<String>,
) -> Result<BatchResult<String>, DurableError> {
    ctx.map("upper", items, config, |_, item: &str, _| async move {
        Ok(item.to_uppercase())
    })
    .await
}

/// Writes a whole map result as `OPSERDE:` and its results joined by commas (9-19, 9-20).
struct Joined;

impl Serdes<BatchResult<String>> for Joined {
    fn serialize(&self, value: &BatchResult<String>) -> Result<String, String> {
        let results: Vec<&str> = value.results().map(String::as_str).collect();
        Ok(format!("OPSERDE:{}", results.join(",")))
    }

    fn deserialize(&self, text: &str) -> Result<BatchResult<String>, String> {
        let joined = text
            .strip_prefix("OPSERDE:")
            .ok_or_else(|| format!("not a joined map result: {text:?}"))?;
        let items = joined
            .split(',')
            .filter(|result| !result.is_empty())
            .enumerate()
            .map(|(index, result)| BatchItem::succeeded(index, result.to_owned()))
            .collect();
        Ok(BatchResult::new(items, CompletionReason::AllCompleted))
    }
}

/// Checkpoints each text as `wrapped:<text>` and reads it back (9-14).
struct Prefixed;

impl Serdes<String> for Prefixed {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(format!("wrapped:{value}"))
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        text.strip_prefix("wrapped:")
            .map(str::to_owned)
            .ok_or_else(|| format!("not a wrapped text: {text:?}"))
    }
}

/// Runs the map handler `case`, if it is one.
pub(crate) async fn run(
    case: &str,
    event: &Value,
    ctx: &DurableContext,
) -> Option<Result<Value, DurableError>> {
    let result = match case {
        // 9-1
        "map_basic" => ctx
            .map("map", items(event), sequential(), |ctx, item, _| async move {
                let name = crate::text(&item);
                ctx.step("greet", |_| async move {
                    Ok::<_, RuntimeError>(format!("Hello, {name}!"))
                })
                .await
            })
            .await
            .map(results),
        // 9-2: no name.
        "map_unnamed" => ctx
            .map("", items(event), sequential(), |_, item, _| async move {
                Ok(item.as_i64().unwrap_or_default() * 2)
            })
            .await
            .map(results),
        // 9-3
        "map_with_index" => ctx
            .map("indexed", items(event), sequential(), |_, item, index| async move {
                Ok(item.as_i64().unwrap_or_default() + index as i64)
            })
            .await
            .map(results),
        // 9-4
        "map_empty" => ctx
            .map("empty", items(event), sequential(), |_, item, _| async move { Ok(item) })
            .await
            .map(results),
        // 9-5
        "map_fail_fast" => policy_map(
            ctx,
            "fail-fast",
            3,
            &[0, 2],
            CompletionConfig::new().tolerated_failure_count(0),
        )
        .await
        .map(|batch| projection(&batch, true)),
        // 9-6
        "map_rethrow" => policy_map(
            ctx,
            "rethrow",
            2,
            &[1],
            CompletionConfig::new().tolerated_failure_count(0),
        )
        .await
        .and_then(|batch| batch.error_if_failed().map(|()| results(batch))),
        // 9-7
        "map_min_successful" => policy_map(
            ctx,
            "min-successful",
            4,
            &[0, 1, 2, 3],
            CompletionConfig::new().min_successful(2),
        )
        .await
        .map(|batch| min_successful_projection(&batch)),
        // 9-8
        "map_tolerated_count" => policy_map(
            ctx,
            "tolerated",
            3,
            &[0, 2],
            CompletionConfig::new().tolerated_failure_count(1),
        )
        .await
        .map(|batch| projection(&batch, true)),
        // 9-9
        "map_tolerated_count_exceeded" => policy_map(
            ctx,
            "tolerated-exceeded",
            3,
            &[2],
            CompletionConfig::new().tolerated_failure_count(1),
        )
        .await
        .map(|batch| projection(&batch, false)),
        // 9-10
        "map_tolerated_percentage_exceeded" => policy_map(
            ctx,
            "tolerated-pct",
            4,
            &[2, 3],
            CompletionConfig::new().tolerated_failure_percentage(25.0),
        )
        .await
        .map(|batch| projection(&batch, false)),
        // 9-11: two at a time; results in item order.
        "map_concurrent" => ctx
            .map(
                "concurrent",
                vec!["r0", "r1", "r2"],
                BatchConfig::default().max_concurrency(2),
                |_, item: &str, _| async move { Ok(item.to_owned()) },
            )
            .await
            .map(results),
        // 9-12
        "map_flat" => ctx
            .map(
                "flat",
                vec!["fa", "fb"],
                sequential().nesting(Nesting::Flat),
                |ctx, item: &str, _| async move {
                    ctx.step("echo", |_| async move { Ok::<_, RuntimeError>(item.to_owned()) })
                        .await
                },
            )
            .await
            .map(results),
        // 9-13: iterations named after their items.
        "map_item_names" => {
            let items = items(event);
            let names: Vec<String> = items.iter().map(|item| format!("item-{item}")).collect();
            ctx.map(
                "named",
                items,
                sequential().item_names(names),
                |_, item, _| async move { Ok(item.as_i64().unwrap_or_default() * 10) },
            )
            .await
            .map(results)
        }
        // 9-14
        "map_item_serdes" => upper_map(ctx, vec!["x", "y"], sequential().item_serdes(Prefixed))
            .await
            .map(results),
        // 9-15: the second item waits; the first replays.
        "map_replay" => ctx
            .map("replay", vec![0usize, 1], sequential(), |ctx, _, index| async move {
                if index == 1 {
                    ctx.wait("", Duration::from_secs(1)).await?;
                }
                ctx.step("result", |_| async move {
                    Ok::<_, RuntimeError>(format!("r{index}"))
                })
                .await
            })
            .await
            .map(results),
        // 9-16: four results of 70 KiB: the map's is too large to checkpoint.
        "map_large_result" => ctx
            .map("large", vec![0usize, 1, 2, 3], sequential(), |_, index, _| async move {
                Ok(format!("{index}").repeat(70 * 1024))
            })
            .await
            .map(|batch| {
                json!({"successCount": batch.success_count(), "totalCount": batch.total_count()})
            }),
        // 9-17
        "map_then_wait" => {
            let batch = upper_map(ctx, vec!["a", "b"], sequential()).await;
            crate::then_wait(ctx, batch.map(results), 1).await
        }
        // 9-18
        "map_failure_then_wait" => {
            let batch = policy_map(
                ctx,
                "tolerated",
                2,
                &[0],
                CompletionConfig::new().tolerated_failure_count(1),
            )
            .await;
            crate::then_wait(ctx, batch.map(|batch| projection(&batch, true)), 1).await
        }
        // 9-19
        "map_result_serdes" => upper_map(ctx, vec!["x", "y"], sequential().serdes(Joined))
            .await
            .map(results),
        // 9-20
        "map_result_serdes_replay" => {
            let batch = upper_map(ctx, vec!["x", "y"], sequential().serdes(Joined)).await;
            crate::then_wait(ctx, batch.map(results), 1).await
        }
        _ => return None,
    };
    Some(result)
}
