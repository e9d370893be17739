//! What `map` and `parallel` give and take: a batch's result, item by item, and how a batch
//! runs (concurrency, when it completes, nesting, serialization).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::context::DurableContext;
use crate::error::DurableError;
use crate::protocol::ErrorObject;
use crate::serdes::{JsonSerdes, Serdes};

/// Where one item of a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchItemStatus {
    /// It gave its result.
    Succeeded,
    /// It failed with an error.
    Failed,
    /// It was started and had not ended when the batch completed (it was suspended, or
    /// still running when the completion policy was met).
    Started,
}

/// Why a batch completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompletionReason {
    /// Every item ended.
    AllCompleted,
    /// As many items succeeded as [`CompletionConfig::min_successful`] asks.
    MinSuccessfulReached,
    /// More items failed than the configuration tolerates.
    FailureToleranceExceeded,
}

/// One item of a batch: a `map` item or a `parallel` branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
pub struct BatchItem<T> {
    /// Its position among the items or branches, from 0.
    pub index: usize,
    /// Where it ended.
    pub status: BatchItemStatus,
    /// Its result, when it succeeded.
    pub result: Option<T>,
    /// Its error, when it failed.
    pub error: Option<ErrorObject>,
}

impl<T> BatchItem<T> {
    /// Item `index`, which succeeded with `result`.
    pub fn succeeded(index: usize, result: T) -> Self {
        BatchItem {
            index,
            status: BatchItemStatus::Succeeded,
            result: Some(result),
            error: None,
        }
    }

    /// Item `index`, which failed with `error`.
    pub fn failed(index: usize, error: ErrorObject) -> Self {
        BatchItem {
            index,
            status: BatchItemStatus::Failed,
            result: None,
            error: Some(error),
        }
    }

    /// Item `index`, started and not ended.
    pub fn started(index: usize) -> Self {
        BatchItem {
            index,
            status: BatchItemStatus::Started,
            result: None,
            error: None,
        }
    }
}

/// What a `map` or `parallel` gives: each started item's outcome, in index order, and why
/// the batch completed. Items that were never started (the batch completed first) are not
/// in it.
///
/// A failed item does not fail the batch: look at [`BatchResult::has_failure`], or turn the
/// first failure into an error with [`BatchResult::error_if_failed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
#[serde(rename_all = "camelCase")]
pub struct BatchResult<T> {
    all: Vec<BatchItem<T>>,
    completion_reason: CompletionReason,
}

impl<T> BatchResult<T> {
    /// A result of `items` (in index order) that completed for `reason`.
    pub fn new(items: Vec<BatchItem<T>>, reason: CompletionReason) -> Self {
        BatchResult {
            all: items,
            completion_reason: reason,
        }
    }

    /// Every started item, in index order.
    pub fn all(&self) -> &[BatchItem<T>] {
        &self.all
    }

    /// Why the batch completed.
    pub fn completion_reason(&self) -> CompletionReason {
        self.completion_reason
    }

    /// The items that succeeded.
    pub fn succeeded(&self) -> impl Iterator<Item = &BatchItem<T>> {
        self.with_status(BatchItemStatus::Succeeded)
    }

    /// The items that failed.
    pub fn failed(&self) -> impl Iterator<Item = &BatchItem<T>> {
        self.with_status(BatchItemStatus::Failed)
    }

    /// The items started and not ended.
    pub fn started(&self) -> impl Iterator<Item = &BatchItem<T>> {
        self.with_status(BatchItemStatus::Started)
    }

    /// The succeeded items' results, in index order.
    pub fn results(&self) -> impl Iterator<Item = &T> {
        self.all.iter().filter_map(|item| item.result.as_ref())
    }

    /// The succeeded items' results, in index order, taken out of the batch.
    pub fn into_results(self) -> Vec<T> {
        self.all
            .into_iter()
            .filter_map(|item| item.result)
            .collect()
    }

    /// The failed items' errors, in index order.
    pub fn errors(&self) -> impl Iterator<Item = &ErrorObject> {
        self.all.iter().filter_map(|item| item.error.as_ref())
    }

    /// Whether any item failed.
    pub fn has_failure(&self) -> bool {
        self.failed().next().is_some()
    }

    /// [`BatchItemStatus::Failed`] when an item failed, else
    /// [`BatchItemStatus::Succeeded`].
    pub fn status(&self) -> BatchItemStatus {
        if self.has_failure() {
            BatchItemStatus::Failed
        } else {
            BatchItemStatus::Succeeded
        }
    }

    /// How many items succeeded.
    pub fn success_count(&self) -> usize {
        self.succeeded().count()
    }

    /// How many items failed.
    pub fn failure_count(&self) -> usize {
        self.failed().count()
    }

    /// How many items were started and did not end.
    pub fn started_count(&self) -> usize {
        self.started().count()
    }

    /// How many items were started.
    pub fn total_count(&self) -> usize {
        self.all.len()
    }

    /// The first failed item's error, as [`DurableError::ContextFailed`] (named after its
    /// index), or `Ok` when none failed. With `?`, the execution then fails with the item's
    /// own error.
    pub fn error_if_failed(&self) -> Result<(), DurableError> {
        match self.failed().next() {
            Some(item) => Err(DurableError::ContextFailed {
                name: format!("item {}", item.index),
                error: Box::new(item.error.clone().unwrap_or_default()),
            }),
            None => Ok(()),
        }
    }

    fn with_status(&self, status: BatchItemStatus) -> impl Iterator<Item = &BatchItem<T>> {
        self.all.iter().filter(move |item| item.status == status)
    }
}

/// When a batch completes before every item ended. The default,
/// [`CompletionConfig::all_successful`], stops at the first failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompletionConfig {
    min_successful: Option<usize>,
    tolerated_failure_count: Option<usize>,
    tolerated_failure_percentage: Option<f64>,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        CompletionConfig::all_successful()
    }
}

impl CompletionConfig {
    /// No criterion yet: add them with the builder methods. With none at all, the first
    /// failure completes the batch.
    pub fn new() -> Self {
        CompletionConfig {
            min_successful: None,
            tolerated_failure_count: None,
            tolerated_failure_percentage: None,
        }
    }

    /// Every item must succeed: the first failure completes the batch.
    pub fn all_successful() -> Self {
        CompletionConfig::new()
            .tolerated_failure_count(0)
            .tolerated_failure_percentage(0.0)
    }

    /// Every item runs, whatever fails.
    pub fn all_completed() -> Self {
        CompletionConfig::new().tolerated_failure_percentage(100.0)
    }

    /// The first success completes the batch; failures do not.
    pub fn first_successful() -> Self {
        CompletionConfig::new().min_successful(1)
    }

    /// The batch completes once `count` items succeeded (at least 1, at most the number
    /// of items).
    pub fn min_successful(mut self, count: usize) -> Self {
        self.min_successful = Some(count);
        self
    }

    /// The batch completes once more than `count` items failed.
    pub fn tolerated_failure_count(mut self, count: usize) -> Self {
        self.tolerated_failure_count = Some(count);
        self
    }

    /// The batch completes once more than `percent` of all its items failed (0 to 100).
    pub fn tolerated_failure_percentage(mut self, percent: f64) -> Self {
        self.tolerated_failure_percentage = Some(percent);
        self
    }

    /// Why the configuration cannot govern `total` items, if it cannot.
    pub(crate) fn invalid_for(&self, total: usize) -> Option<String> {
        match (self.min_successful, self.tolerated_failure_percentage) {
            (Some(0), _) => Some("min_successful must be at least 1".to_owned()),
            (Some(min), _) if min > total => Some(format!(
                "min_successful cannot be greater than the number of items: {min} > {total}"
            )),
            (_, Some(percent)) if !(0.0..=100.0).contains(&percent) => Some(format!(
                "tolerated_failure_percentage must be between 0 and 100, got {percent}"
            )),
            _ => None,
        }
    }

    /// Whether `failed` failures of `total` items are more than tolerated.
    pub(crate) fn tolerance_exceeded(&self, failed: usize, total: usize) -> bool {
        let has_criteria = self.min_successful.is_some()
            || self.tolerated_failure_count.is_some()
            || self.tolerated_failure_percentage.is_some();
        if !has_criteria {
            return failed > 0;
        }
        if self
            .tolerated_failure_count
            .is_some_and(|tolerated| failed > tolerated)
        {
            return true;
        }
        match self.tolerated_failure_percentage {
            Some(percent) if total > 0 => failed as f64 * 100.0 / total as f64 > percent,
            _ => false,
        }
    }

    /// Whether the batch is complete with these counts, and why.
    pub(crate) fn completion(
        &self,
        succeeded: usize,
        failed: usize,
        total: usize,
    ) -> Option<CompletionReason> {
        if self.tolerance_exceeded(failed, total) {
            Some(CompletionReason::FailureToleranceExceeded)
        } else if succeeded + failed >= total {
            Some(CompletionReason::AllCompleted)
        } else if self.min_successful.is_some_and(|min| succeeded >= min) {
            Some(CompletionReason::MinSuccessfulReached)
        } else {
            None
        }
    }
}

/// How a batch's items are recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Nesting {
    /// Each item is a child context of its own (`MapIteration` or `ParallelBranch`),
    /// holding its operations and its result.
    #[default]
    Nested,
    /// Items record nothing of their own: their operations are recorded directly under
    /// the batch. Fewer checkpoints; an item's result is then rebuilt on replay from its
    /// operations.
    Flat,
}

/// How a `map` or `parallel` runs.
pub struct BatchConfig<T> {
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) completion: CompletionConfig,
    pub(crate) nesting: Nesting,
    pub(crate) item_names: Vec<String>,
    pub(crate) item_serdes: Arc<dyn Serdes<T>>,
    pub(crate) serdes: Arc<dyn Serdes<BatchResult<T>>>,
}

impl<T: Serialize + DeserializeOwned + 'static> Default for BatchConfig<T> {
    fn default() -> Self {
        BatchConfig {
            max_concurrency: None,
            completion: CompletionConfig::default(),
            nesting: Nesting::default(),
            item_names: Vec::new(),
            item_serdes: Arc::new(JsonSerdes),
            serdes: Arc::new(JsonSerdes),
        }
    }
}

impl<T> fmt::Debug for BatchConfig<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchConfig")
            .field("max_concurrency", &self.max_concurrency)
            .field("completion", &self.completion)
            .field("nesting", &self.nesting)
            .field("item_names", &self.item_names)
            .finish_non_exhaustive()
    }
}

impl<T> BatchConfig<T> {
    /// At most `limit` items run at once (at least 1; default: all of them). Items start
    /// in index order; a suspended item keeps its place until it ends.
    pub fn max_concurrency(mut self, limit: usize) -> Self {
        self.max_concurrency = Some(limit);
        self
    }

    /// When the batch completes (default: [`CompletionConfig::all_successful`]).
    pub fn completion(mut self, config: CompletionConfig) -> Self {
        self.completion = config;
        self
    }

    /// How items are recorded (default: [`Nesting::Nested`]).
    pub fn nesting(mut self, nesting: Nesting) -> Self {
        self.nesting = nesting;
        self
    }

    /// The items' names in the history, in index order (default: `map-item-<i>` and
    /// `parallel-branch-<i>`; a named [`Branch`] keeps its own). Names do not take part
    /// in replay.
    pub fn item_names<N: Into<String>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
        self.item_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Each item's result is checkpointed by `serdes` (default: JSON).
    pub fn item_serdes(mut self, serdes: impl Serdes<T> + 'static) -> Self {
        self.item_serdes = Arc::new(serdes);
        self
    }

    /// The whole batch result is checkpointed by `serdes` (default: JSON).
    pub fn serdes(mut self, serdes: impl Serdes<BatchResult<T>> + 'static) -> Self {
        self.serdes = Arc::new(serdes);
        self
    }
}

/// The future a [`Branch`] runs.
pub type BranchFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DurableError>> + Send + 'a>>;

/// One branch of a [`DurableContext::parallel`]: code run with a context of its own.
pub struct Branch<'a, T> {
    pub(crate) name: Option<String>,
    pub(crate) run: Box<dyn FnOnce(DurableContext) -> BranchFuture<'a, T> + Send + 'a>,
}

impl<T> fmt::Debug for Branch<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Branch")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<'a, T> Branch<'a, T> {
    /// A branch running `code`.
    pub fn new<F, Fut>(code: F) -> Self
    where
        F: FnOnce(DurableContext) -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, DurableError>> + Send + 'a,
    {
        Branch {
            name: None,
            run: Box::new(move |ctx| Box::pin(code(ctx))),
        }
    }

    /// The branch, named `name` in the history.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_criteria_fails_fast_and_percentages_are_strictly_exceeded() {
        let none = CompletionConfig::new();
        assert!(none.tolerance_exceeded(1, 10));
        let quarter = CompletionConfig::new().tolerated_failure_percentage(25.0);
        assert!(!quarter.tolerance_exceeded(1, 4));
        assert!(quarter.tolerance_exceeded(2, 4));
        let one = CompletionConfig::new().tolerated_failure_count(1);
        assert_eq!(one.completion(0, 1, 3), None);
        assert_eq!(
            one.completion(0, 2, 3),
            Some(CompletionReason::FailureToleranceExceeded)
        );
        let two = CompletionConfig::new().min_successful(2);
        assert_eq!(
            two.completion(2, 0, 4),
            Some(CompletionReason::MinSuccessfulReached)
        );
        assert_eq!(
            two.completion(2, 1, 3),
            Some(CompletionReason::AllCompleted)
        );
    }

    #[test]
    fn invalid_configurations_are_named() {
        assert!(
            CompletionConfig::new()
                .min_successful(3)
                .invalid_for(2)
                .is_some()
        );
        assert!(
            CompletionConfig::new()
                .min_successful(0)
                .invalid_for(2)
                .is_some()
        );
        assert!(
            CompletionConfig::new()
                .tolerated_failure_percentage(101.0)
                .invalid_for(2)
                .is_some()
        );
        assert!(CompletionConfig::default().invalid_for(0).is_none());
    }

    #[test]
    fn a_batch_result_reads_and_round_trips() {
        let result = BatchResult::new(
            vec![
                BatchItem::succeeded(0, "a".to_owned()),
                BatchItem::failed(1, ErrorObject::new("E", "no")),
                BatchItem::started(2),
            ],
            CompletionReason::MinSuccessfulReached,
        );
        assert_eq!(
            (
                result.success_count(),
                result.failure_count(),
                result.started_count()
            ),
            (1, 1, 1)
        );
        assert_eq!(result.status(), BatchItemStatus::Failed);
        assert!(matches!(
            result.error_if_failed(),
            Err(DurableError::ContextFailed { .. })
        ));
        let text = serde_json::to_string(&result).expect("serializes");
        assert!(text.contains("\"completionReason\":\"MIN_SUCCESSFUL_REACHED\""));
        let back: BatchResult<String> = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, result);
        assert_eq!(back.into_results(), vec!["a".to_owned()]);
    }
}
