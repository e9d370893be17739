//! Partial batch responses for SQS, Kinesis and DynamoDB streams.
//!
//! The processor runs a record handler over each record and reports the failures as
//! `{"batchItemFailures":[{"itemIdentifier": "..."}]}`. Lambda then deletes the records that
//! succeeded, and retries only the failed ones (the event source mapping needs
//! `ReportBatchItemFailures`).
//!
//! ```
//! # #[cfg(feature = "sqs")] {
//! use lambda_kit::batch::{BatchProcessor, BatchResponse};
//! use lambda_kit::events::sqs::{SqsEvent, SqsMessage};
//! use lambda_kit::{Context, Error};
//!
//! async fn charge(message: SqsMessage) -> Result<(), Error> {
//!     let _body = message.body.unwrap_or_default();
//!     Ok(())
//! }
//!
//! async fn handler(event: SqsEvent, _ctx: Context) -> Result<BatchResponse, Error> {
//!     BatchProcessor::new().concurrency(4).sqs(event, charge).await
//! }
//! # }
//! ```
//!
//! How each source is processed:
//! - SQS standard queues: every record, `concurrency` at a time (default 1).
//! - SQS FIFO queues (the ARN ends in `.fifo`): in order. At the first failure, that
//!   record and every later one are reported without being processed, since later messages
//!   must not overtake it. With [`BatchProcessor::fifo_per_message_group`], only later
//!   records of the same message group are held back.
//! - Kinesis and DynamoDB streams: in order, stopping at the first failure, which is
//!   reported. Lambda retries from that sequence number, so later records would be processed
//!   twice if handled now.
//!
//! A handler that fails or panics fails only its record. When every record fails, the whole
//! invocation fails (with [`BatchProcessor::report_when_all_fail`], it reports them all
//! instead). A record without an identifier that fails cannot be reported, so it fails the
//! invocation too: nothing is lost.

// Which orderings and helpers are used depends on which event-source features are on.
#![cfg_attr(
    not(all(feature = "sqs", feature = "kinesis", feature = "dynamodb")),
    allow(dead_code)
)]

use std::collections::HashSet;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The errorType when every record of a batch failed.
pub const ALL_RECORDS_FAILED: &str = "Batch.AllRecordsFailed";
/// The errorType when a record without an identifier failed.
pub const UNREPORTABLE_FAILURE: &str = "Batch.UnreportableFailure";

/// The answer Lambda reads to retry only the failed records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The records to retry.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One record to retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemFailure {
    /// SQS `messageId`, Kinesis `sequenceNumber` or DynamoDB `SequenceNumber`.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Runs a record handler over a batch and collects the failures.
#[derive(Debug, Clone)]
pub struct BatchProcessor {
    concurrency: usize,
    fifo_per_group: bool,
    report_when_all_fail: bool,
}

impl Default for BatchProcessor {
    fn default() -> Self {
        Self::new()
    }
}

/// How records are ordered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Any order, some at once.
    Unordered,
    /// In order; a failure holds back the rest of the batch.
    StopAtFailure { report_the_rest: bool },
    /// In order; a failure holds back the rest of its message group.
    PerGroup,
}

/// What the processor needs to know about a record.
struct Item<R> {
    record: R,
    id: Option<String>,
    group: Option<String>,
}

impl BatchProcessor {
    /// A processor: one record at a time, failing the invocation if every record fails.
    pub fn new() -> Self {
        BatchProcessor {
            concurrency: 1,
            fifo_per_group: false,
            report_when_all_fail: false,
        }
    }

    /// Processes up to `n` records of a standard SQS queue at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// For FIFO queues, holds back only later records of a failed record's message group.
    pub fn fifo_per_message_group(mut self) -> Self {
        self.fifo_per_group = true;
        self
    }

    /// Reports every record when all fail, instead of failing the invocation.
    pub fn report_when_all_fail(mut self) -> Self {
        self.report_when_all_fail = true;
        self
    }

    /// Processes an SQS batch.
    #[cfg(feature = "sqs")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
    pub async fn sqs<F, Fut, E>(
        &self,
        event: crate::events::sqs::SqsEvent,
        handle: F,
    ) -> Result<BatchResponse, Error>
    where
        F: Fn(crate::events::sqs::SqsMessage) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<Error>,
    {
        let fifo = event.records.first().is_some_and(|record| {
            record
                .event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.ends_with(".fifo"))
        });
        let order = match (fifo, self.fifo_per_group) {
            (false, _) => Order::Unordered,
            (true, false) => Order::StopAtFailure {
                report_the_rest: true,
            },
            (true, true) => Order::PerGroup,
        };
        let items = event
            .records
            .into_iter()
            .map(|record| Item {
                id: record.message_id.clone(),
                group: record.attributes.get("MessageGroupId").cloned(),
                record,
            })
            .collect();
        self.process(items, order, handle).await
    }

    /// Processes a Kinesis batch.
    #[cfg(feature = "kinesis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kinesis")))]
    pub async fn kinesis<F, Fut, E>(
        &self,
        event: crate::events::kinesis::KinesisEvent,
        handle: F,
    ) -> Result<BatchResponse, Error>
    where
        F: Fn(crate::events::kinesis::KinesisEventRecord) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<Error>,
    {
        self.process_stream(
            event.records,
            |record| Some(record.kinesis.sequence_number.clone()),
            handle,
        )
        .await
    }

    /// Processes a DynamoDB stream batch.
    #[cfg(feature = "dynamodb")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
    pub async fn dynamodb<F, Fut, E>(
        &self,
        event: crate::events::dynamodb::Event,
        handle: F,
    ) -> Result<BatchResponse, Error>
    where
        F: Fn(crate::events::dynamodb::EventRecord) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<Error>,
    {
        self.process_stream(
            event.records,
            |record| record.change.sequence_number.clone(),
            handle,
        )
        .await
    }

    /// A stream's records, in order, stopping at the first failure.
    #[cfg(any(feature = "kinesis", feature = "dynamodb"))]
    async fn process_stream<R, F, Fut, E>(
        &self,
        records: Vec<R>,
        sequence_number: impl Fn(&R) -> Option<String>,
        handle: F,
    ) -> Result<BatchResponse, Error>
    where
        F: Fn(R) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<Error>,
    {
        let items = records
            .into_iter()
            .map(|record| Item {
                id: sequence_number(&record),
                group: None,
                record,
            })
            .collect();
        let order = Order::StopAtFailure {
            report_the_rest: false,
        };
        self.process(items, order, handle).await
    }

    async fn process<R, F, Fut, E>(
        &self,
        items: Vec<Item<R>>,
        order: Order,
        handle: F,
    ) -> Result<BatchResponse, Error>
    where
        F: Fn(R) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<Error>,
    {
        let total = items.len();
        let failed = match order {
            Order::Unordered => process_unordered(items, self.concurrency, &handle).await,
            ordered => process_in_order(items, ordered, &handle).await,
        };
        let mut batch_item_failures = Vec::with_capacity(failed.len());
        let mut first_error = None;
        for (id, error) in failed {
            match id {
                Some(item_identifier) => {
                    batch_item_failures.push(BatchItemFailure { item_identifier })
                }
                None => {
                    let error =
                        error.unwrap_or_else(|| Error::new(UNREPORTABLE_FAILURE, "held back"));
                    return Err(Error::new(
                        UNREPORTABLE_FAILURE,
                        format!(
                            "a record without an identifier failed, so it cannot be reported for \
                             retry; failing the whole batch instead: {error}"
                        ),
                    ));
                }
            }
            if first_error.is_none() {
                first_error = error;
            }
        }
        if total > 0 && batch_item_failures.len() == total && !self.report_when_all_fail {
            let first = first_error
                .map(|error| error.to_string())
                .unwrap_or_default();
            return Err(Error::new(
                ALL_RECORDS_FAILED,
                format!("all {total} records failed; the first: {first}"),
            ));
        }
        Ok(BatchResponse {
            batch_item_failures,
        })
    }
}

/// Runs one record's handler, turning an error or a panic into the error to report.
async fn run_one<R, F, Fut, E>(handle: &F, record: R, id: Option<&str>) -> Result<(), Error>
where
    F: Fn(R) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<Error>,
{
    let outcome = crate::panic::guarded("record handler", || handle(record))
        .await
        .and_then(|result| result.map_err(Into::into));
    if let Err(error) = &outcome {
        tracing::warn!(
            itemIdentifier = id,
            errorType = error.error_type(),
            errorMessage = error.message(),
            "batch record failed"
        );
    }
    outcome
}

/// A failed record: its identifier and, when it ran, its error.
type Failure = (Option<String>, Option<Error>);

async fn process_unordered<R, F, Fut, E>(
    items: Vec<Item<R>>,
    concurrency: usize,
    handle: &F,
) -> Vec<Failure>
where
    F: Fn(R) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<Error>,
{
    use futures_util::StreamExt as _;
    let mut outcomes: Vec<(usize, Option<String>, Result<(), Error>)> = futures_util::stream::iter(
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| async move {
                let outcome = run_one(handle, item.record, item.id.as_deref()).await;
                (index, item.id, outcome)
            }),
    )
    .buffer_unordered(concurrency)
    .collect()
    .await;
    // Report in the batch's order, whatever order the records finished in.
    outcomes.sort_by_key(|(index, _, _)| *index);
    outcomes
        .into_iter()
        .filter_map(|(_, id, outcome)| outcome.err().map(|error| (id, Some(error))))
        .collect()
}

async fn process_in_order<R, F, Fut, E>(
    items: Vec<Item<R>>,
    order: Order,
    handle: &F,
) -> Vec<Failure>
where
    F: Fn(R) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<Error>,
{
    let mut failures = Vec::new();
    let mut stopped = false;
    let mut failed_groups: HashSet<Option<String>> = HashSet::new();
    for item in items {
        let held_back = match order {
            Order::PerGroup => failed_groups.contains(&item.group),
            _ => stopped,
        };
        if held_back {
            if matches!(
                order,
                Order::StopAtFailure {
                    report_the_rest: true
                } | Order::PerGroup
            ) {
                failures.push((item.id, None));
            }
            continue;
        }
        if let Err(error) = run_one(handle, item.record, item.id.as_deref()).await {
            failures.push((item.id, Some(error)));
            stopped = true;
            failed_groups.insert(item.group);
        }
    }
    failures
}
