//! The `shutdown` function and the `report-summary` extension as Lambda runs them: against
//! the fake Runtime API, under `--event`, and side by side under `--serve`.
#![cfg(feature = "extension")]

use std::process::Stdio;

use lambda_kit::testing::FakeRuntimeApi;
use serde_json::json;
use tests::{line_containing, terminate};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SHUTDOWN: &str = env!("CARGO_BIN_EXE_shutdown");
const REPORT_SUMMARY: &str = env!("CARGO_BIN_EXE_report-summary");
const HELLO: &str = env!("CARGO_BIN_EXE_hello");

#[tokio::test]
async fn the_batch_is_flushed_on_sigterm() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = tokio::process::Command::from(api.bootstrap_command(SHUTDOWN))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    for order in ["o-1", "o-2"] {
        let id = api.push(json!({"order_id": order}));
        api.response_json(&id).await;
    }
    terminate(&child);
    let output = child.wait_with_output().await.expect("exits");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "flushed 2 orders: o-1,o-2"
    );
}

#[tokio::test]
async fn event_runs_the_hook_after_its_invocation() {
    let output = tokio::process::Command::new(SHUTDOWN)
        .args(["--event", r#"{"order_id":"o-9"}"#])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .await
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, [r#"{"queued":1}"#, "flushed 1 orders: o-9"]);
}

#[tokio::test]
async fn the_extension_summarises_each_report_and_ends_on_shutdown() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let mut extension = tokio::process::Command::from(api.extension_command(REPORT_SUMMARY))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the extension starts");
    let registered = api.wait_for_extensions(1).await;
    assert_eq!(registered[0].name, "report-summary");
    assert!(registered[0].external);
    assert_eq!(registered[0].events, ["SHUTDOWN"]);
    let _function = tokio::process::Command::from(api.bootstrap_command(HELLO))
        .kill_on_drop(true)
        .spawn()
        .expect("the function starts");
    let mut lines = BufReader::new(extension.stdout.take().expect("stdout")).lines();
    let id = api.push(json!({"name": "Ada"}));
    api.response_json(&id).await;
    let summary = line_containing(&mut lines, &id).await;
    assert!(
        summary.starts_with(&format!("report-summary: {id} success ")),
        "{summary}"
    );
    assert!(summary.ends_with("of 128 MB"), "{summary}");
    assert_eq!(api.shutdown_extensions("spindown"), 1);
    let total = line_containing(&mut lines, "invocations").await;
    assert_eq!(
        total,
        "report-summary: 1 invocations, shutting down (spindown)"
    );
    assert!(extension.wait().await.expect("exits").success());
    assert_eq!(api.dropped_telemetry_batches(), 0);
}

/// `POST`s `event` to the emulator's Invoke API and returns the body.
async fn invoke(port: u16, event: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connects");
    let request = format!(
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
        event.len()
    );
    stream.write_all(request.as_bytes()).await.expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("reads");
    answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn serve_runs_the_extension_beside_the_function_and_shuts_both_down_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let mut emulator = tokio::process::Command::new(SHUTDOWN)
        .args([
            "--serve",
            &format!("127.0.0.1:{port}"),
            "--extension",
            REPORT_SUMMARY,
        ])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the emulator starts");
    // The emulator says where it serves once it listens.
    let mut stderr = BufReader::new(emulator.stderr.take().expect("stderr")).lines();
    line_containing(&mut stderr, "serving").await;
    assert_eq!(invoke(port, r#"{"order_id":"a"}"#).await, r#"{"queued":1}"#);
    assert_eq!(invoke(port, r#"{"order_id":"b"}"#).await, r#"{"queued":2}"#);
    let mut stdout = BufReader::new(emulator.stdout.take().expect("stdout")).lines();
    // One line per `platform.report`. Telemetry is delivered apart from the invocations,
    // as on Lambda, so wait for both reports before shutting down: a SHUTDOWN that
    // overtakes the second report would count one.
    line_containing(&mut stdout, "report-summary: ").await;
    line_containing(&mut stdout, "report-summary: ").await;
    terminate(&emulator);
    // The function's hook runs first (SIGTERM), then the extension's (SHUTDOWN).
    line_containing(&mut stdout, "flushed 2 orders: a,b").await;
    let total = line_containing(&mut stdout, "invocations").await;
    assert_eq!(
        total,
        "report-summary: 2 invocations, shutting down (spindown)"
    );
    assert!(emulator.wait().await.expect("exits").success());
}
