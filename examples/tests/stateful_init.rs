//! The `stateful-init` binary as a bootstrap: state is built once and shared; a bad
//! environment is an init error with no poll.

use std::process::Stdio;

use http::StatusCode;
use lambda_kit::testing::{FakeRuntimeApi, Fault, Route};
use serde_json::json;
use tokio::process::Command;

fn bootstrap(api: &FakeRuntimeApi) -> Command {
    let mut command = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_stateful-init")));
    command
        .env("PRICE_TABLE", "apple=30,pear=45")
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn init_runs_once_for_many_invocations() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = bootstrap(&api).spawn().expect("spawns");
    let mut environments = std::collections::HashSet::new();
    for quantity in 1..=20u64 {
        let id = api.push(json!({"item": "pear", "quantity": quantity}));
        let quote = api.response_json(&id).await;
        assert_eq!(quote["total_cents"], json!(45 * quantity));
        environments.insert(quote["environment_id"].as_str().expect("id").to_owned());
    }
    assert_eq!(environments.len(), 1, "every invocation saw the same state");

    let unknown = api.push(json!({"item": "kiwi", "quantity": 1}));
    let error = api.error_answer(&unknown).await;
    assert_eq!(error.error_type, "UnknownItem");

    api.inject(
        Route::Next,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "stop".into()),
    );
    let output = child.wait_with_output().await.expect("exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("price table built").count(), 1, "{stderr}");
}

#[tokio::test]
async fn a_bad_price_table_is_an_init_error_and_nothing_is_polled() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let output = bootstrap(&api)
        .env("PRICE_TABLE", "apple=thirty")
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success());
    let post = api.init_error().await;
    let body: serde_json::Value = serde_json::from_slice(&post.body).expect("JSON");
    assert_eq!(body["errorType"], "PriceTableInvalid");
    assert!(
        body["errorMessage"]
            .as_str()
            .expect("text")
            .contains("apple=thirty")
    );
    assert_eq!(api.polls(), 0);
}
