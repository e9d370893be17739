//! The `hello` binary as a user runs it: once from the command line, and as a bootstrap
//! against a (fake) Runtime API.

use std::process::{Output, Stdio};

use lambda_kit::testing::{FakeRuntimeApi, Fault, Route};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The `hello` binary with a clean environment (no Lambda variables leak in).
fn hello() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hello"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn run(command: &mut Command) -> Output {
    command.output().await.expect("hello runs")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[tokio::test]
async fn event_argument_prints_the_response() {
    let output = run(hello().args(["--event", r#"{"name":"Ada"}"#])).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"message\":\"Hello, Ada!\"}\n"
    );
}

#[tokio::test]
async fn event_from_a_file_and_from_stdin() {
    let dir = std::env::temp_dir().join(format!("lambda-kit-hello-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("event.json");
    std::fs::write(&file, r#"{"name":"File"}"#).expect("write event");
    let output = run(hello().arg("--event").arg(format!("@{}", file.display()))).await;
    assert_eq!(stdout_json(&output), json!({"message": "Hello, File!"}));

    let mut child = hello()
        .args(["--event", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(br#"{"name":"Stdin"}"#)
        .await
        .expect("write");
    drop(stdin);
    let output = child.wait_with_output().await.expect("finishes");
    assert_eq!(stdout_json(&output), json!({"message": "Hello, Stdin!"}));
}

#[tokio::test]
async fn a_failed_invocation_prints_the_error_and_exits_1() {
    let output = run(hello().args(["--event", r#"{"name":5}"#])).await;
    assert_eq!(output.status.code(), Some(1));
    let error = stdout_json(&output);
    assert_eq!(error["errorType"], "Runtime.UnmarshalError");
    assert!(
        error["errorMessage"]
            .as_str()
            .expect("text")
            .contains("`name`"),
        "{error}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error_line = stderr
        .lines()
        .find(|line| line.contains("\tERROR\t"))
        .expect("an ERROR line");
    let request_id = error_line.split('\t').nth(1).expect("a request id column");
    assert_eq!(
        request_id.len(),
        36,
        "the error line names the invocation: {error_line}"
    );
}

#[tokio::test]
async fn no_arguments_outside_lambda_prints_usage_and_exits_2() {
    let output = run(&mut hello()).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));
}

#[tokio::test]
async fn help_prints_the_usage_text_on_stdout_and_exits_0() {
    let output = run(hello().arg("--help")).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("usage:"));
    // What was shown is not reported once more as `main`'s error.
    assert!(!String::from_utf8_lossy(&output.stderr).contains("Error:"));
}

#[tokio::test]
async fn a_shown_failure_is_not_printed_again_by_main() {
    let output = run(hello().arg("--frobnicate")).await;
    assert!(!String::from_utf8_lossy(&output.stderr).contains("Error:"));
    let output = run(hello().args(["--event", r#"{"name":5}"#])).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("Error:"));
}

#[tokio::test]
async fn unknown_arguments_and_missing_files_are_usage_errors() {
    let output = run(hello().arg("--frobnicate")).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--frobnicate"));
    let output = run(hello().args(["--event", "@/nonexistent/event.json"])).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/event.json"));
}

#[tokio::test]
async fn as_a_bootstrap_it_serves_invocations_and_exits_on_a_500() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_hello")))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    for name in ["Ada", "Grace"] {
        let id = api.push(json!({ "name": name }));
        assert_eq!(
            api.response_json(&id).await,
            json!({"message": format!("Hello, {name}!")})
        );
    }
    api.inject(
        Route::Next,
        Fault::Status(http::StatusCode::INTERNAL_SERVER_ERROR, "broken".into()),
    );
    let output = child.wait_with_output().await.expect("exits");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("answered GET") && stderr.contains("500"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unusable_configuration_is_an_init_error() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let output = run(
        Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_hello")))
            .env("AWS_LAMBDA_RUNTIME_API", api.url_with_prefix("/.rt/hello"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
    )
    .await;
    assert!(!output.status.success());
    let post = api.init_error().await;
    assert!(post.path.starts_with("/.rt/hello/"), "{}", post.path);
    let body: Value = serde_json::from_slice(&post.body).expect("JSON");
    assert_eq!(body["errorType"], "Runtime.ConfigInvalid");
    assert!(
        body["errorMessage"]
            .as_str()
            .expect("text")
            .contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    );
    assert_eq!(api.polls(), 0);
}
