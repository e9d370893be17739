//! The `sqs-batch` binary as a bootstrap: only failed messages are reported.

use lambda_kit::testing::{FakeRuntimeApi, events};
use serde_json::json;
use tokio::process::Command;

#[tokio::test]
async fn only_the_failed_messages_are_reported() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _function = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_sqs-batch")))
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    let event = events::sqs_batch([
        r#"{"order_id": "o-1", "amount": 12}"#,
        r#"{"order_id": "o-2", "amount": 0}"#,
        r#"{"order_id": "o-3", "amount": 7}"#,
        "not an order",
    ]);
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().expect("id"))
        .collect();
    let id = api.push(&event);
    assert_eq!(
        api.response_json(&id).await,
        json!({"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[3]}]})
    );
    let all_bad = api.push(events::sqs_batch(["x", "y"]));
    assert_eq!(
        api.error_answer(&all_bad).await.error_type,
        "Batch.AllRecordsFailed"
    );
}
