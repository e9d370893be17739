//! Graceful shutdown of a built bootstrap: SIGTERM runs the hooks in order within the
//! grace period and the process exits 0; a hook that overruns is cut off; on Lambda
//! Managed Instances the invocations in flight answer first.

use std::process::Stdio;

use lambda_kit::testing::FakeRuntimeApi;
use serde_json::json;
use tests::{line_containing, terminate};
use tokio::io::{AsyncBufReadExt, BufReader};

fn probe(api: &FakeRuntimeApi) -> tokio::process::Command {
    let mut command =
        tokio::process::Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_shutdown-probe")));
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn sigterm_runs_the_hooks_in_order_and_exits_0() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = probe(&api).spawn().expect("starts");
    let id = api.push(json!({"hold_ms": 0}));
    api.response_json(&id).await;
    api.wait_for_extensions(1).await;
    terminate(&child);
    let output = child.wait_with_output().await.expect("exits");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let hooks: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("hook"))
        .collect();
    assert_eq!(hooks, ["hook 1", "hook 2", "hook 3"]);
}

#[tokio::test]
async fn a_hook_that_overruns_the_grace_period_is_cut_off_and_the_process_still_exits() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = probe(&api).env("HANG", "1").spawn().expect("starts");
    api.wait_for_extensions(1).await;
    api.wait_for_polls(1).await;
    terminate(&child);
    let output = child.wait_with_output().await.expect("exits");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("hook 1"), "{stdout}");
    assert!(
        !stdout.contains("hook 2") && !stdout.contains("hook 3"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cut off"), "{stderr}");
}

#[tokio::test]
async fn on_managed_instances_invocations_in_flight_answer_before_the_hooks() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let mut child = probe(&api)
        .env("AWS_LAMBDA_MAX_CONCURRENCY", "4")
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let id = api.push(json!({"hold_ms": 100}));
    line_containing(&mut stdout, "started").await;
    terminate(&child);
    line_containing(&mut stdout, "hook 3").await;
    let status = child.wait().await.expect("exits");
    assert!(status.success());
    // The answer was posted before the process ended (and so before the hooks finished).
    assert_eq!(api.response_json(&id).await, json!({"held_ms": 100}));
    let registered = api.extensions();
    assert_eq!(
        registered.len(),
        1,
        "one internal extension, however many workers"
    );
}
