//! `bootstrap --serve`: the binary as its own local Lambda, driven over HTTP as `curl` or
//! `aws lambda invoke --endpoint-url` would.

use std::process::Stdio;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tests::local::{LocalServer, send_to};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const INVOKE: &str = "/2015-03-31/functions/function/invocations";

type Emulator = LocalServer;

async fn serve(program: &str, args: &[&str]) -> Emulator {
    serve_with(program, args, &[]).await
}

async fn serve_with(program: &str, args: &[&str], vars: &[(&str, &str)]) -> Emulator {
    let mut all = vec!["--serve", "127.0.0.1:0"];
    all.extend_from_slice(args);
    LocalServer::start(program, &all, vars).await
}

/// Posts one invocation to the emulator at `address`.
async fn invoke_at(
    address: String,
    body: Bytes,
    headers: Vec<(String, String)>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::post(INVOKE).header("host", &address);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let response = send_to(&address, request.body(Full::new(body)).expect("request")).await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, json)
}

/// Invocations through the Invoke API.
trait Invoke {
    async fn invoke(
        &self,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value);
}

impl Invoke for Emulator {
    async fn invoke(
        &self,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        invoke_at(self.address.clone(), body.into(), headers).await
    }
}

fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_serve-probe")
}

#[tokio::test]
async fn invocations_are_answered_with_lambda_style_log_lines() {
    let mut emulator = serve(probe(), &[]).await;
    let (status, headers, body) = emulator.invoke(json!({"echo": 1}).to_string(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["echo"], 1);
    let request_id = body["requestId"].as_str().expect("id").to_owned();
    assert_eq!(headers["x-amzn-requestid"], request_id.as_str());
    let lines = emulator.lines_until("REPORT RequestId").await;
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("START RequestId: {request_id} Version: $LATEST"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("END RequestId: {request_id}"))
    );
    let report = lines.last().expect("report");
    for label in [
        "Duration:",
        "Billed Duration:",
        "Memory Size:",
        "Max Memory Used:",
        "Init Duration:",
    ] {
        assert!(report.contains(label), "{label} in {report}");
    }
}

#[tokio::test]
async fn function_errors_are_200_with_the_function_error_header() {
    let emulator = serve(probe(), &[]).await;
    let (status, headers, body) = emulator.invoke("not json", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-amz-function-error"], "Unhandled");
    assert_eq!(body["errorType"], "Runtime.UnmarshalError");
}

#[tokio::test]
async fn concurrent_invokes_are_queued_and_each_answered() {
    let emulator = serve(probe(), &[]).await;
    // Each invocation on its own task, so all six are in flight at once.
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let body = Bytes::from(json!({"echo": n, "sleep_ms": 20}).to_string());
            tokio::spawn(invoke_at(emulator.address.clone(), body, Vec::new()))
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("the invocation task finishes"));
    }
    let mut echoed: Vec<i64> = answers
        .iter()
        .map(|(_, _, body)| body["echo"].as_i64().expect("echo"))
        .collect();
    echoed.sort_unstable();
    assert_eq!(echoed, [0, 1, 2, 3, 4, 5]);
    let ids: std::collections::HashSet<&str> = answers
        .iter()
        .map(|(_, _, body)| body["requestId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn a_timeout_is_answered_and_the_next_invocation_gets_a_fresh_process() {
    let mut emulator = serve(probe(), &["--timeout", "1"]).await;
    let (_, _, first) = emulator.invoke(json!({}).to_string(), &[]).await;
    let (status, headers, timed_out) = emulator
        .invoke(json!({"sleep_ms": 60_000}).to_string(), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-amz-function-error"], "Unhandled");
    assert_eq!(timed_out["errorType"], "Sandbox.Timedout");
    assert_eq!(
        timed_out["errorMessage"],
        "Task timed out after 1.00 seconds"
    );
    emulator
        .lines_until("Task timed out after 1.00 seconds")
        .await;
    let (_, _, after) = emulator.invoke(json!({}).to_string(), &[]).await;
    assert_ne!(
        after["pid"], first["pid"],
        "a new process serves after a timeout"
    );
}

#[tokio::test]
async fn a_crashed_process_is_reported_and_replaced() {
    let emulator = serve(probe(), &[]).await;
    let (_, headers, crashed) = emulator
        .invoke(json!({"exit": true}).to_string(), &[])
        .await;
    assert_eq!(headers["x-amz-function-error"], "Unhandled");
    assert_eq!(crashed["errorType"], "Runtime.ExitError");
    let (status, _, after) = emulator
        .invoke(json!({"echo": "ok"}).to_string(), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["echo"], "ok");
}

#[tokio::test]
async fn an_event_over_6_mb_is_refused_and_the_emulator_keeps_serving() {
    let emulator = serve(probe(), &[]).await;
    let (status, _, body) = emulator.invoke(vec![b'a'; 7 * 1024 * 1024], &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["errorType"], "RequestTooLargeException");
    let (status, _, _) = emulator.invoke("{}", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_client_context_header_reaches_the_function() {
    let emulator = serve(probe(), &[]).await;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"tenant":"acme"}}"#);
    let (_, _, body) = emulator
        .invoke("{}", &[("x-amz-client-context", &encoded)])
        .await;
    assert_eq!(body["clientCustom"], json!({"tenant": "acme"}));
    let (status, _, _) = emulator
        .invoke("{}", &[("x-amz-client-context", "%%%")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_init_error_is_the_answer_to_the_invocation_that_started_it() {
    let emulator = serve(env!("CARGO_BIN_EXE_form-init-fails"), &[]).await;
    let (status, headers, body) = emulator.invoke("{}", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-amz-function-error"], "Unhandled");
    assert_eq!(body["errorType"], "DatabaseUrlMissing");
}

/// Kills a process with SIGKILL and returns once it has died (it may stay a zombie until
/// its parent, the emulator, reaps it).
fn kill_9(pid: &Value) {
    let pid = pid
        .as_i64()
        .and_then(|pid| libc::pid_t::try_from(pid).ok())
        .expect("a pid");
    // A pidfd becomes readable when its process ends, parent or not: an exact wait, not
    // a guess at how long death takes.
    // SAFETY: pidfd_open takes plain integers and returns a new descriptor or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let pidfd = libc::c_int::try_from(pidfd).expect("pidfd_open (Linux 5.3 or later)");
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: kill takes plain integers; the process cannot be reaped (and its pid reused)
    // before the pidfd is closed below, since pidfds pin their process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill");
    let mut ended = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, and an infinite timeout.
    let ready = unsafe { libc::poll(&mut ended, 1, -1) };
    assert_eq!(ready, 1, "poll: {}", std::io::Error::last_os_error());
    // SAFETY: the descriptor is ours and closed once.
    unsafe { libc::close(pidfd) };
}

#[tokio::test]
async fn a_process_killed_while_idle_is_replaced_and_every_later_invocation_succeeds() {
    let emulator = serve(probe(), &["--timeout", "30"]).await;
    let (_, _, first) = emulator.invoke(json!({}).to_string(), &[]).await;
    // The function now waits in /next; it dies there. Its poll is still open in the
    // emulator: it must not take the invocation meant for the fresh process.
    kill_9(&first["pid"]);
    for n in 0..=3 {
        let (status, headers, body) = emulator.invoke(json!({"echo": n}).to_string(), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get("x-amz-function-error").is_none(), "{body}");
        assert_eq!(body["echo"], n);
        assert_ne!(body["pid"], first["pid"]);
    }
}

#[tokio::test]
async fn a_poll_left_open_by_an_ended_environment_takes_nothing() {
    let emulator = serve(probe(), &["--timeout", "5"]).await;
    let (_, _, first) = emulator.invoke(json!({}).to_string(), &[]).await;
    let runtime_api = first["runtimeApi"]
        .as_str()
        .expect("the Runtime API's address");
    // A `/next` poll whose connection stays open while its environment ends, as a dead
    // process's poll does until the server notices the close.
    let mut stale = TcpStream::connect(runtime_api).await.expect("connects");
    let poll =
        format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: {runtime_api}\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut stale, poll.as_bytes())
        .await
        .expect("sent");
    kill_9(&first["pid"]);
    let (status, headers, body) = emulator.invoke(json!({"echo": 1}).to_string(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("x-amz-function-error").is_none(), "{body}");
    assert_eq!(body["echo"], 1);
    let mut status_line = String::new();
    BufReader::new(stale)
        .read_line(&mut status_line)
        .await
        .expect("the stale poll is answered");
    assert!(status_line.starts_with("HTTP/1.1 410"), "{status_line:?}");
}

#[tokio::test]
async fn a_caller_that_disconnects_does_not_start_the_next_invocation_early() {
    let mut emulator = serve(probe(), &["--timeout", "30"]).await;
    // Sent by hand so that the connection can be dropped while the invocation runs.
    let body = json!({"sleep_ms": 300}).to_string();
    let mut abandoned = TcpStream::connect(&emulator.address)
        .await
        .expect("connects");
    let request = format!(
        "POST {INVOKE} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n\r\n{body}",
        emulator.address,
        body.len()
    );
    tokio::io::AsyncWriteExt::write_all(&mut abandoned, request.as_bytes())
        .await
        .expect("sent");
    let started = emulator.lines_until("START RequestId").await;
    let first_id = started
        .last()
        .and_then(|line| line.split_whitespace().nth(2))
        .expect("a request id")
        .to_owned();
    drop(abandoned);
    let (status, headers, second) = emulator.invoke(json!({"echo": 2}).to_string(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("x-amz-function-error").is_none(), "{second}");
    // The abandoned invocation ran to its end before the next one started.
    let lines = emulator.lines_until("REPORT RequestId").await;
    let lines = [lines, emulator.lines_until("START RequestId").await].concat();
    let report = lines
        .iter()
        .position(|line| line.starts_with(&format!("REPORT RequestId: {first_id}")))
        .expect("the abandoned invocation is reported");
    let next_start = lines
        .iter()
        .position(|line| line.starts_with("START RequestId"))
        .expect("the next invocation starts");
    assert!(report < next_start, "{lines:?}");
}

#[tokio::test]
async fn max_concurrency_from_the_shell_does_not_reach_the_function() {
    let emulator = serve_with(
        probe(),
        &["--timeout", "30"],
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
    )
    .await;
    let mut pids = std::collections::HashSet::new();
    for n in 0..4 {
        let (status, headers, body) = emulator.invoke(json!({"echo": n}).to_string(), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get("x-amz-function-error").is_none(), "{body}");
        assert_eq!(body["echo"], n);
        assert_eq!(
            body["maxConcurrency"],
            Value::Null,
            "the emulator controls the environment"
        );
        pids.insert(body["pid"].to_string());
    }
    assert_eq!(pids.len(), 1, "one process served them all");
}

/// Runs the probe once with `--event`, as a user would on the command line.
async fn event_once(args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, Value) {
    let output = Command::new(probe())
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_LAMBDA_FUNCTION_TIMEOUT")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the probe runs");
    let answer = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), answer)
}

#[tokio::test]
async fn event_stops_a_handler_at_its_timeout_as_lambda_does() {
    let slow = json!({"sleep_ms": 60_000}).to_string();
    for (args, vars) in [
        (vec!["--event", slow.as_str(), "--timeout", "1"], vec![]),
        (
            vec!["--event", slow.as_str()],
            vec![("AWS_LAMBDA_FUNCTION_TIMEOUT", "1")],
        ),
    ] {
        let (code, answer) = event_once(&args, &vars).await;
        assert_eq!(code, Some(1), "{args:?} {vars:?}");
        assert_eq!(answer["errorType"], "Sandbox.Timedout");
        assert_eq!(answer["errorMessage"], "Task timed out after 1.00 seconds");
    }
}

#[tokio::test]
async fn event_gives_the_handler_its_whole_timeout() {
    let (code, answer) = event_once(
        &["--event", r#"{"echo": "in time"}"#, "--timeout", "30"],
        &[],
    )
    .await;
    assert_eq!(code, Some(0));
    assert_eq!(answer["echo"], "in time");
}
