//! Helpers shared by the end-to-end tests: run the real runtime loop in-process against a
//! [`FakeRuntimeApi`], and count what it posted.

pub mod local;
pub mod otlp;

use lambda_kit::response::IntoFunctionResponse;
use lambda_kit::testing::{FakeRuntimeApi, RecordedCall};
use lambda_kit::{Config, Error, Handler, Runtime};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::task::JoinHandle;

/// A configuration whose only setting is `AWS_LAMBDA_RUNTIME_API = runtime_api`.
pub fn config_for(runtime_api: &str) -> Config {
    config_with(runtime_api, &[])
}

/// A configuration for `runtime_api` with more variables set.
pub fn config_with(runtime_api: &str, vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        if name == "AWS_LAMBDA_RUNTIME_API" {
            return Some(runtime_api.to_owned());
        }
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .expect("a valid configuration")
}

/// A handler the tests can run on a spawned task.
pub trait TestHandler<E, R>: Handler<E, R, Future: Send, Error: Send> + Send + 'static {}

impl<H, E, R> TestHandler<E, R> for H where
    H: Handler<E, R, Future: Send, Error: Send> + Send + 'static
{
}

/// Starts the runtime loop serving `handler` from `runtime_api`, on the test's executor.
pub fn spawn_runtime<E, R>(
    runtime_api: &str,
    handler: impl TestHandler<E, R>,
) -> JoinHandle<Result<(), Error>>
where
    E: DeserializeOwned + Send + 'static,
    R: IntoFunctionResponse + Send + 'static,
{
    let runtime = Runtime::from_config(config_for(runtime_api)).expect("a runtime");
    tokio::spawn(runtime.run(handler))
}

/// Starts a fake Runtime API and the runtime loop serving `handler` from it.
pub async fn start<E, R>(
    handler: impl TestHandler<E, R>,
) -> (FakeRuntimeApi, JoinHandle<Result<(), Error>>)
where
    E: DeserializeOwned + Send + 'static,
    R: IntoFunctionResponse + Send + 'static,
{
    let api = FakeRuntimeApi::start()
        .await
        .expect("the fake Runtime API starts");
    let runtime = spawn_runtime(&api.address(), handler);
    (api, runtime)
}

/// The posts for `request_id` that the fake accepted (answered 202).
pub fn accepted(calls: &[RecordedCall]) -> Vec<&RecordedCall> {
    calls
        .iter()
        .filter(|call| call.status.is_some_and(|status| status.is_success()))
        .collect()
}

/// Asserts that a post carries Lambda's error shape: the errorType header, and a body of
/// exactly `{"errorType", "errorMessage"}`.
pub fn assert_error_post(headers: &http::HeaderMap, body: &[u8], error_type: &str, message: &str) {
    assert_eq!(headers["lambda-runtime-function-error-type"], error_type);
    let body: serde_json::Value = serde_json::from_slice(body).expect("the error body is JSON");
    assert_eq!(
        body,
        serde_json::json!({"errorType": error_type, "errorMessage": message})
    );
}

/// Everything a log layer wrote: a writer for `tracing_layer_with_writer`.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8 lines")
    }

    /// Every line, parsed as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends SIGTERM to `child`, as Lambda does before it shuts an environment down.
pub fn terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("the process is running");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM was sent");
}

/// Reads `lines` until one contains `needle`; returns it (panics at the end of the output).
pub async fn line_containing<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
    needle: &str,
) -> String {
    while let Some(line) = lines.next_line().await.expect("the output reads") {
        if line.contains(needle) {
            return line;
        }
    }
    panic!("the output ended without a line containing {needle:?}");
}
