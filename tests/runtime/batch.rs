//! Partial batch responses: which records are reported, which are processed, in what order.

use std::sync::{Arc, Mutex};

use lambda_kit::batch::{BatchProcessor, BatchResponse};
use lambda_kit::events::dynamodb::{Event as DynamoDbEvent, EventRecord};
use lambda_kit::events::kinesis::{KinesisEvent, KinesisEventRecord};
use lambda_kit::events::sqs::{SqsEvent, SqsMessage};
use lambda_kit::testing::{self, events};
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};
use tests::start;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture exists")).expect("fixture parses")
}

fn failed_ids(response: &BatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

/// Records what was processed, failing bodies that say "fail" and panicking on "panic".
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn handle(&self, body: String) -> Result<(), Error> {
        self.0.lock().expect("lock").push(body.clone());
        match body.as_str() {
            "fail" => Err(Error::new("Test.RecordFailed", "record failed")),
            "panic" => panic!("record panicked"),
            _ => Ok(()),
        }
    }

    fn processed(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

fn sqs_handler(
    recorder: &Recorder,
) -> impl Fn(SqsMessage) -> std::future::Ready<Result<(), Error>> + '_ {
    move |message| std::future::ready(recorder.handle(message.body.unwrap_or_default()))
}

#[tokio::test]
async fn a_standard_queue_reports_only_the_failed_messages_in_batch_order() {
    let event = events::sqs_batch(["a", "fail", "b", "panic", "c"]);
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().expect("id"))
        .collect();
    let recorder = Recorder::default();
    let response = BatchProcessor::new()
        .concurrency(3)
        .sqs(event, sqs_handler(&recorder))
        .await
        .expect("partial");
    assert_eq!(failed_ids(&response), [ids[1].as_str(), ids[3].as_str()]);
    assert_eq!(recorder.processed().len(), 5);
}

#[tokio::test]
async fn concurrency_runs_records_at_once() {
    // Three records that each wait for the other two: this finishes only if all three run
    // at the same time.
    let barrier = tokio::sync::Barrier::new(3);
    let event = events::sqs_batch(["1", "2", "3"]);
    let response = BatchProcessor::new()
        .concurrency(3)
        .sqs(event, |_| async {
            barrier.wait().await;
            Ok::<(), Error>(())
        })
        .await
        .expect("all succeed");
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn when_every_record_fails_the_invocation_fails_unless_told_to_report() {
    let recorder = Recorder::default();
    let error = BatchProcessor::new()
        .sqs(events::sqs_batch(["fail", "fail"]), sqs_handler(&recorder))
        .await
        .expect_err("all failed");
    assert_eq!(error.error_type(), "Batch.AllRecordsFailed");
    let response = BatchProcessor::new()
        .report_when_all_fail()
        .sqs(events::sqs_batch(["fail", "fail"]), sqs_handler(&recorder))
        .await
        .expect("reported");
    assert_eq!(response.batch_item_failures.len(), 2);
}

#[tokio::test]
async fn a_fifo_queue_holds_back_everything_after_a_failure() {
    let recorder = Recorder::default();
    let response = BatchProcessor::new()
        .concurrency(8)
        .sqs(fixture::<SqsEvent>("sqs-fifo.json"), sqs_handler(&recorder))
        .await
        .expect("partial");
    assert_eq!(failed_ids(&response), ["m2", "m3", "m4"]);
    assert_eq!(
        recorder.processed(),
        ["a", "fail"],
        "nothing overtakes the failed message"
    );
}

#[tokio::test]
async fn a_fifo_queue_can_hold_back_only_the_failed_group() {
    let recorder = Recorder::default();
    let response = BatchProcessor::new()
        .fifo_per_message_group()
        .sqs(fixture::<SqsEvent>("sqs-fifo.json"), sqs_handler(&recorder))
        .await
        .expect("partial");
    assert_eq!(failed_ids(&response), ["m2", "m3"]);
    assert_eq!(recorder.processed(), ["a", "fail", "d"]);
}

#[tokio::test]
async fn a_kinesis_batch_stops_at_the_first_failure() {
    let recorder = Recorder::default();
    let handle = |record: KinesisEventRecord| {
        let data = String::from_utf8_lossy(&record.kinesis.data.0).into_owned();
        std::future::ready(recorder.handle(data))
    };
    let response = BatchProcessor::new()
        .kinesis(fixture::<KinesisEvent>("kinesis.json"), handle)
        .await
        .expect("partial");
    assert_eq!(
        failed_ids(&response),
        ["49650000000000000000000000000000000000000000000000000002"]
    );
    assert_eq!(
        recorder.processed(),
        ["ok", "fail"],
        "Lambda retries from the failure"
    );
}

#[tokio::test]
async fn a_dynamodb_stream_batch_stops_at_the_first_failure() {
    let recorder = Recorder::default();
    let handle = |record: EventRecord| {
        let status = record
            .change
            .new_image
            .get("Status")
            .map(|value| {
                serde_json::to_value(value).unwrap_or_default()["S"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap_or_else(|| "removed".into());
        std::future::ready(recorder.handle(status))
    };
    let response = BatchProcessor::new()
        .dynamodb(fixture::<DynamoDbEvent>("dynamodb-stream.json"), handle)
        .await
        .expect("partial");
    assert_eq!(failed_ids(&response), ["1000000000000000000002"]);
    assert_eq!(recorder.processed(), ["new", "fail"]);
}

#[tokio::test]
async fn a_failed_record_without_an_identifier_fails_the_batch() {
    let mut event = events::sqs_batch(["ok", "fail"]);
    event.records[1].message_id = None;
    let recorder = Recorder::default();
    let error = BatchProcessor::new()
        .sqs(event, sqs_handler(&recorder))
        .await
        .expect_err("unreportable");
    assert_eq!(error.error_type(), "Batch.UnreportableFailure");
}

async fn process_orders(event: SqsEvent, _: Context) -> Result<BatchResponse, Error> {
    BatchProcessor::new()
        .sqs(event, |message| async move {
            let order: Value = serde_json::from_str(message.body.as_deref().unwrap_or("null"))?;
            match order["amount"].as_i64() {
                Some(amount) if amount > 0 => Ok(()),
                _ => Err(Error::new("Order.Invalid", "the amount must be positive")),
            }
        })
        .await
}

#[tokio::test]
async fn through_the_runtime_the_response_has_lambdas_shape() {
    let (api, _runtime) = start(handler_fn(process_orders)).await;
    let event = events::sqs_batch([r#"{"amount": 5}"#, r#"{"amount": -1}"#, "not json"]);
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().expect("id"))
        .collect();
    let id = api.push(&event);
    assert_eq!(
        api.response_json(&id).await,
        json!({"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]})
    );
    let outcome = testing::invoke(
        handler_fn(process_orders),
        events::sqs_batch([r#"{"amount": 1}"#]),
    )
    .await;
    assert_eq!(outcome.expect_response(), json!({"batchItemFailures": []}));
}
