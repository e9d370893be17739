//! The `streaming` binary: a function URL stream, prelude first, then one chunk per row.

use bytes::Bytes;
use lambda_kit::testing::FakeRuntimeApi;
use serde_json::{Value, json};
use tokio::process::Command;

#[tokio::test]
async fn rows_are_streamed_after_the_prelude() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _function = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_streaming")))
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    let id = api.push(json!({"rows": 3}));
    let answer = api.answer(&id).await;
    assert_eq!(
        answer.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude");
    assert_eq!(
        prelude,
        json!({"statusCode": 200, "headers": {"content-type": "text/plain"}, "cookies": ["report=1"]})
    );
    assert_eq!(answer.chunks[1], Bytes::from_static(&[0u8; 8]));
    assert_eq!(&answer.chunks[2..], ["row 1\n", "row 2\n", "row 3\n"]);
}

#[tokio::test]
async fn locally_the_rows_are_printed() {
    let output = Command::new(env!("CARGO_BIN_EXE_streaming"))
        .env_clear()
        .args(["--event", r#"{"rows": 2}"#])
        .output()
        .await
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "row 1\nrow 2\n");
}
