//! `map` and `parallel`: items run concurrently, each in a child context of the batch, and
//! the batch completes when its [`CompletionConfig`](crate::CompletionConfig) says so.
//!
//! Items start in index order, up to the concurrency limit; an item's id derives from its
//! index, so the ids are the same whatever order items end in. A suspended item keeps its
//! place. When every started item is suspended and no other can start, the batch (and the
//! invocation) is suspended; the next invocation replays the ended items from their
//! checkpoints and resumes the others.
//!
//! Items run as futures of the handler's own task, polled together: concurrent, not
//! parallel on threads. An item still running when the batch completes (its completion
//! policy met) is stopped: its next checkpoint is refused ([`DurableError::Stopped`]), and
//! the batch waits for it to end before it returns, so nothing of it outlives the batch.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};

use crate::batch::{
    BatchConfig, BatchItem, BatchItemStatus, BatchResult, Branch, CompletionReason, Nesting,
};
use crate::context::{
    ChildKind, DurableContext, MAX_CHECKPOINTED_RESULT_BYTES, Requested, context_failed,
};
use crate::error::DurableError;
use crate::id::operation_id;
use crate::protocol::{
    ContextOptions, OperationAction, OperationStatus, OperationSubType, OperationType,
};
use crate::serdes::{Serdes, read_result, write_result};

/// What kind of batch runs: how it and its items are recorded.
struct BatchKind {
    /// The batch's sub-type.
    batch: OperationSubType,
    /// Each item's.
    item: OperationSubType,
    /// An unnamed item's name, before its index.
    item_name_prefix: &'static str,
    /// The `type` of the summary a large result is checkpointed as.
    summary_type: &'static str,
}

const PARALLEL: BatchKind = BatchKind {
    batch: OperationSubType::Parallel,
    item: OperationSubType::ParallelBranch,
    item_name_prefix: "parallel-branch-",
    summary_type: "ParallelResult",
};

const MAP: BatchKind = BatchKind {
    batch: OperationSubType::Map,
    item: OperationSubType::MapIteration,
    item_name_prefix: "map-item-",
    summary_type: "MapResult",
};

impl DurableContext {
    /// Runs `branches` concurrently, each with a child context of its own, and gives each
    /// one's outcome in a [`BatchResult`], in branch order. `config` sets the concurrency
    /// limit, when the batch completes (by default at the first failure), the nesting and
    /// the serialization. A failed branch does not fail the `parallel`: it is an item of
    /// the result.
    ///
    /// The result is checkpointed: a replay returns it without running the branches again.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use lambda_kit_durable::{BatchConfig, Branch, DurableContext, DurableError};
    ///
    /// async fn quotes(_: (), ctx: DurableContext) -> Result<Vec<u32>, DurableError> {
    ///     let quote = |price: u32| {
    ///         Branch::new(move |ctx: DurableContext| async move {
    ///             ctx.step("quote", |_| async move { Ok::<_, std::io::Error>(price) }).await
    ///         })
    ///     };
    ///     let batch = ctx
    ///         .parallel("quotes", vec![quote(12), quote(9)], BatchConfig::default())
    ///         .await?;
    ///     batch.error_if_failed()?;
    ///     Ok(batch.into_results())
    /// }
    ///
    /// let run = lambda_kit_durable::testing::LocalRunner::new().run(&(), quotes).await.unwrap();
    /// assert_eq!(run.output.result.as_deref(), Some("[12,9]"));
    /// # });
    /// ```
    pub async fn parallel<'a, T>(
        &self,
        name: &str,
        branches: Vec<Branch<'a, T>>,
        config: BatchConfig<T>,
    ) -> Result<BatchResult<T>, DurableError> {
        let names = branches
            .iter()
            .enumerate()
            .map(|(index, branch)| {
                branch
                    .name
                    .clone()
                    .unwrap_or_else(|| item_name(&config, &PARALLEL, index))
            })
            .collect();
        let runs = branches.into_iter().map(|branch| branch.run).collect();
        self.batch(name, &PARALLEL, names, runs, &config).await
    }

    /// Runs `code` for each of `items` concurrently, each call with a child context of its
    /// own, the item and its index; gives each one's outcome in a [`BatchResult`], in item
    /// order. `config` is as for [`DurableContext::parallel`].
    ///
    /// The items must be the same on every replay (take them from the event or from a
    /// step's result).
    pub async fn map<I, T, F, Fut>(
        &self,
        name: &str,
        items: Vec<I>,
        config: BatchConfig<T>,
        code: F,
    ) -> Result<BatchResult<T>, DurableError>
    where
        F: Fn(DurableContext, I, usize) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        let names = (0..items.len())
            .map(|index| item_name(&config, &MAP, index))
            .collect();
        let code = &code;
        let runs = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| move |ctx| code(ctx, item, index))
            .collect();
        self.batch(name, &MAP, names, runs, &config).await
    }

    /// Runs a batch of `runs`, recorded as `kind` says.
    async fn batch<T, B, Fut>(
        &self,
        name: &str,
        kind: &BatchKind,
        names: Vec<String>,
        runs: Vec<B>,
        config: &BatchConfig<T>,
    ) -> Result<BatchResult<T>, DurableError>
    where
        B: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        // Checked before the batch is recorded: a configuration error is the handler's.
        if config.max_concurrency == Some(0) {
            return Err(DurableError::failed(
                "ValidationError",
                "max_concurrency must be at least 1",
            ));
        }
        if let Some(reason) = config.completion.invalid_for(runs.len()) {
            return Err(DurableError::failed("ValidationError", reason));
        }
        let requested = self.next(OperationType::Context, kind.batch, name);
        let recorded = self.recorded(&requested)?;
        let details = recorded
            .as_ref()
            .and_then(|operation| operation.context_details.clone())
            .unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let items = Items {
            batch: self.child(
                Some(requested.id.clone()),
                &requested.id,
                Some(Arc::clone(&stop)),
            ),
            sub_type: kind.item,
            names,
            serdes: &*config.item_serdes,
            child_kind: match config.nesting {
                Nesting::Nested => ChildKind::Recorded,
                Nesting::Flat => ChildKind::Virtual,
            },
        };
        match recorded.as_ref().map(|operation| operation.status) {
            Some(OperationStatus::Succeeded) if details.replay_children => {
                let summary = details
                    .result
                    .as_deref()
                    .and_then(|text| serde_json::from_str::<Summary>(text).ok());
                return items.rebuild(runs, summary).await;
            }
            Some(OperationStatus::Succeeded) => {
                return read_result(name, &*config.serdes, details.result.as_deref());
            }
            Some(OperationStatus::Failed) => return Err(context_failed(name, details.error)),
            Some(_) => {}
            None => {
                self.update(&requested, OperationAction::Start, |_| {})
                    .await?;
            }
        }
        let result = items.run(runs, config, &stop).await?;
        let payload = write_result(name, &*config.serdes, &result)?;
        let replay_children = payload.len() > MAX_CHECKPOINTED_RESULT_BYTES;
        let payload = if replay_children {
            Summary::of(&result, kind.summary_type).to_json()
        } else {
            payload
        };
        self.update(&requested, OperationAction::Succeed, |update| {
            update.payload = Some(payload);
            update.context_options = Some(ContextOptions { replay_children });
        })
        .await?;
        Ok(result)
    }
}

/// An unnamed item's name: the configured one, else the kind's default.
fn item_name<T>(config: &BatchConfig<T>, kind: &BatchKind, index: usize) -> String {
    config
        .item_names
        .get(index)
        .cloned()
        .unwrap_or_else(|| format!("{}{index}", kind.item_name_prefix))
}

/// A batch's items, as the batch runs them.
struct Items<'a, T> {
    /// The context the items are children of: its operations record the batch as parent.
    batch: DurableContext,
    sub_type: OperationSubType,
    names: Vec<String>,
    serdes: &'a dyn Serdes<T>,
    child_kind: ChildKind,
}

impl<T> Items<'_, T> {
    /// Runs item `index`: the item as it ended (started, when it was suspended), or the
    /// error that ends the whole batch.
    async fn run_one<B, Fut>(&self, index: usize, run: B) -> Result<BatchItem<T>, DurableError>
    where
        B: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        let requested = Requested {
            id: operation_id(self.batch.parent_id(), index as u64),
            kind: OperationType::Context,
            sub_type: self.sub_type,
            name: &self.names[index],
        };
        match self
            .batch
            .run_child(&requested, self.serdes, self.child_kind, run)
            .await
        {
            Ok(value) => Ok(BatchItem::succeeded(index, value)),
            Err(DurableError::Suspended { .. }) => Ok(BatchItem::started(index)),
            Err(error) if ends_batch(&error) => Err(error),
            Err(error) => Ok(BatchItem::failed(index, error.to_error_object())),
        }
    }

    /// Runs the items until `config`'s completion policy is met, or until every started
    /// item is suspended and no other can start (then the batch is suspended).
    async fn run<B, Fut>(
        &self,
        runs: Vec<B>,
        config: &BatchConfig<T>,
        stop: &AtomicBool,
    ) -> Result<BatchResult<T>, DurableError>
    where
        B: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        let total = runs.len();
        let limit = config.max_concurrency.unwrap_or(total).max(1);
        let state = self.batch.state();
        let suspended_before = state.suspension().is_some();
        // Each item once started; `None` for those not started.
        let mut items: Vec<Option<BatchItem<T>>> = runs.iter().map(|_| None).collect();
        let mut waiting = runs.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        // Started and not ended: a suspended item keeps its place.
        let mut in_flight = 0;
        let (mut succeeded, mut failed) = (0, 0);
        let reason = loop {
            if let Some(reason) = config.completion.completion(succeeded, failed, total) {
                break reason;
            }
            while in_flight < limit {
                let Some((index, run)) = waiting.next() else {
                    break;
                };
                items[index] = Some(BatchItem::started(index));
                in_flight += 1;
                running.push(self.run_one(index, run));
            }
            let Some(ended) = running.next().await else {
                return Err(self.batch.suspend(format!(
                    "{in_flight} of {total} items are suspended and no other can start"
                )));
            };
            let ended = ended?;
            match ended.status {
                BatchItemStatus::Succeeded => succeeded += 1,
                BatchItemStatus::Failed => failed += 1,
                // Suspended: it keeps its place.
                BatchItemStatus::Started => continue,
            }
            in_flight -= 1;
            let index = ended.index;
            items[index] = Some(ended);
        };
        // Completed: the items still running are stopped, and end before the batch returns.
        stop.store(true, Ordering::SeqCst);
        while running.next().await.is_some() {}
        drop(running);
        if !suspended_before {
            // Items that suspended belong to a batch that completed without them.
            state.resume();
        }
        Ok(BatchResult::new(
            items.into_iter().flatten().collect(),
            reason,
        ))
    }

    /// The result of a batch that completed before, whose result was too large to keep:
    /// items recorded as ended are replayed one by one (a succeeded one from its
    /// checkpoint, or from its operations' when flat), started ones stay started. Without
    /// a readable summary, every item is replayed.
    async fn rebuild<B, Fut>(
        &self,
        runs: Vec<B>,
        summary: Option<Summary>,
    ) -> Result<BatchResult<T>, DurableError>
    where
        B: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, DurableError>>,
    {
        let started_total = summary
            .as_ref()
            .map_or(runs.len(), |summary| summary.total_count);
        let mut items = Vec::new();
        for (index, run) in runs.into_iter().enumerate().take(started_total) {
            if summary
                .as_ref()
                .is_some_and(|summary| summary.was_started(index))
            {
                items.push(BatchItem::started(index));
                continue;
            }
            items.push(self.run_one(index, run).await?);
        }
        let items_reason = summary.map(|summary| summary.completion_reason);
        Ok(BatchResult::new(
            items,
            items_reason.unwrap_or(CompletionReason::AllCompleted),
        ))
    }
}

/// Whether an item's `error` ends the whole batch: a failed checkpoint, a stop from an
/// enclosing batch, or a replay that no longer matches the history.
fn ends_batch(error: &DurableError) -> bool {
    matches!(
        error,
        DurableError::Service(_)
            | DurableError::Stopped { .. }
            | DurableError::NonDeterministic { .. }
    )
}

/// What a batch whose result is too large to checkpoint records instead: enough to
/// rebuild the same result on replay (how many items started, which had not ended, why it
/// completed), and counts to read in the history.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    #[serde(rename = "type", default)]
    kind: String,
    total_count: usize,
    completion_reason: CompletionReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_indexes: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    completed_indexes: Option<Vec<usize>>,
    #[serde(default)]
    started_count: usize,
    #[serde(default)]
    success_count: usize,
    #[serde(default)]
    failure_count: usize,
    #[serde(default = "succeeded")]
    status: BatchItemStatus,
}

fn succeeded() -> BatchItemStatus {
    BatchItemStatus::Succeeded
}

impl Summary {
    fn of<T>(result: &BatchResult<T>, kind: &str) -> Self {
        Summary {
            kind: kind.to_owned(),
            total_count: result.total_count(),
            completion_reason: result.completion_reason(),
            started_indexes: Some(result.started().map(|item| item.index).collect()),
            completed_indexes: None,
            started_count: result.started_count(),
            success_count: result.success_count(),
            failure_count: result.failure_count(),
            status: result.status(),
        }
    }

    fn to_json(&self) -> String {
        // A struct of numbers, strings and lists: it always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether item `index` had started and not ended when the batch completed.
    fn was_started(&self, index: usize) -> bool {
        match (&self.started_indexes, &self.completed_indexes) {
            (Some(started), _) => started.contains(&index),
            (None, Some(completed)) => !completed.contains(&index),
            (None, None) => false,
        }
    }
}
