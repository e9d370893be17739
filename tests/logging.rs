//! Log lines as Lambda reads them: keys, levels, formats, sampling and debug buffering,
//! captured from the real loop serving invocations from the fake Runtime API.

use std::sync::Arc;

use lambda_kit::logging::{DebugBuffer, Logging};
use lambda_kit::testing::{FakeInvocation, FakeRuntimeApi};
use lambda_kit::{Config, Context, Error, LogFormat, Runtime, handler_fn};
use serde_json::{Value, json};
use tests::Captured;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

fn config(api: &FakeRuntimeApi, vars: &[(&str, &str)]) -> Config {
    let address = api.address();
    Config::from_lookup(|name| {
        if name == "AWS_LAMBDA_RUNTIME_API" {
            return Some(address.clone());
        }
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    })
    .expect("valid config")
}

/// Starts the loop with `logging` installed for this test's thread only.
async fn serve<F, Fut>(
    vars: &[(&str, &str)],
    configure: impl FnOnce(Logging) -> Logging,
    handler: F,
) -> (FakeRuntimeApi, Captured, tracing::subscriber::DefaultGuard)
where
    F: FnMut(Value, Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Value, Error>> + Send + 'static,
{
    let api = FakeRuntimeApi::start().await.expect("starts");
    let config = config(&api, vars);
    let lookup_vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let logging = configure(Logging::from_lookup(&config, |name| {
        lookup_vars
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }));
    let captured = Captured::default();
    let subscriber =
        tracing_subscriber::registry().with(logging.tracing_layer_with_writer(captured.clone()));
    let guard = tracing::subscriber::set_default(subscriber);
    let runtime = Runtime::from_config(config).expect("runtime");
    tokio::spawn(runtime.run(handler_fn(handler)));
    (api, captured, guard)
}

/// Pushes `event` and waits for its answer; returns its request id.
async fn answered(api: &FakeRuntimeApi, event: Value) -> String {
    let id = api.push(event);
    api.answer(&id).await;
    id
}

async fn charge(event: Value, _: Context) -> Result<Value, Error> {
    tracing::debug!(step = "validate", "checking the order");
    tracing::info!(order_id = 7, amount = 12.5, express = true, "charging");
    if event["fail"] == true {
        return Err(Error::new("Payment.Declined", "card declined"));
    }
    Ok(json!("ok"))
}

#[tokio::test]
async fn json_lines_carry_lambda_and_powertools_keys() {
    let vars = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("POWERTOOLS_SERVICE_NAME", "payments"),
    ];
    let (api, captured, _guard) = serve(&vars, |logging| logging, charge).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let first = api
        .push_invocation(FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", trace));
    api.answer(&first).await;
    let second = api.push(json!({}));
    api.answer(&second).await;

    let lines: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line["message"] == "charging")
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = &lines[0];
    let timestamp = line["timestamp"].as_str().expect("timestamp");
    assert!(
        timestamp.len() == 24 && timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.',
        "RFC 3339 UTC with milliseconds: {timestamp}"
    );
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["requestId"], first);
    assert_eq!(line["xrayTraceId"], "1-5759e988-bd862e3fe1be46a994272793");
    assert_eq!(
        line["function_arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:test"
    );
    assert_eq!(line["cold_start"], true);
    assert_eq!(line["order_id"], 7);
    assert_eq!(line["amount"], 12.5);
    assert_eq!(line["express"], true);
    assert_eq!(line["service"], "payments");
    assert_eq!(line["function_name"], "orders");
    assert_eq!(line["function_memory_size"], 256);
    assert!(
        line["target"]
            .as_str()
            .expect("target")
            .starts_with("logging")
    );
    assert!(
        line.get("_trace_header").is_none(),
        "internal fields are not logged"
    );
    assert!(
        line.get("span").is_none() && line.get("fields").is_none(),
        "keys are flat"
    );
    assert_eq!(lines[1]["cold_start"], false);
    assert_eq!(lines[1]["requestId"], second);
    assert!(
        captured
            .json_lines()
            .iter()
            .all(|line| line["level"] != "DEBUG")
    );
}

async fn log_own_service(_: Value, _: Context) -> Result<Value, Error> {
    tracing::info!(service = "refunds", "own service");
    tracing::info!("shared service");
    Ok(json!("ok"))
}

#[tokio::test]
async fn a_line_s_own_field_replaces_a_static_one_of_the_same_name() {
    for schema in ["", "powertools"] {
        let vars = [
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("POWERTOOLS_SERVICE_NAME", "payments"),
            ("LAMBDA_KIT_LOG_SCHEMA", schema),
        ];
        let (api, captured, _guard) = serve(&vars, |logging| logging, log_own_service).await;
        answered(&api, json!({})).await;
        let text = captured.text();
        for (message, service) in [("own service", "refunds"), ("shared service", "payments")] {
            let line = text
                .lines()
                .find(|line| line.contains(&format!("\"{message}\"")))
                .expect("the line");
            // Written once, with the line's own value if it has one: a parser would keep
            // only one of two duplicate keys, so the text is checked.
            assert_eq!(line.matches("\"service\":").count(), 1, "{line}");
            assert!(
                line.contains(&format!("\"service\":\"{service}\"")),
                "{line}"
            );
            assert!(line.contains("\"function_name\":\"orders\""), "{line}");
        }
    }
}

#[tokio::test]
async fn a_handler_error_is_logged_once_at_error_with_its_request_id() {
    let (api, captured, _guard) = serve(&[("AWS_LAMBDA_LOG_FORMAT", "json")], |l| l, charge).await;
    let id = api.push(json!({"fail": true}));
    api.answer(&id).await;
    let errors: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["requestId"], id);
    assert_eq!(errors[0]["errorType"], "Payment.Declined");
    assert_eq!(errors[0]["errorMessage"], "card declined");
}

#[tokio::test]
async fn a_panic_is_logged_once_with_its_location() {
    let panics = |_: Value, _: Context| async move {
        if true {
            panic!("index out of range");
        }
        Ok::<Value, Error>(Value::Null)
    };
    let (api, captured, _guard) = serve(&[("AWS_LAMBDA_LOG_FORMAT", "json")], |l| l, panics).await;
    let id = api.push(json!({}));
    let posted = api.error_answer(&id).await;
    assert!(
        posted.error_message.contains("logging.rs:"),
        "{}",
        posted.error_message
    );
    let errors: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["errorType"], "Runtime.Panic");
    assert_eq!(errors[0]["requestId"], id);
}

#[tokio::test]
async fn the_lambda_level_filters_and_error_lines_keep_their_request_id() {
    let (api, captured, _guard) = serve(
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "ERROR"),
        ],
        |l| l,
        charge,
    )
    .await;
    let ok = api.push(json!({}));
    api.answer(&ok).await;
    let failed = api.push(json!({"fail": true}));
    api.answer(&failed).await;
    let lines = captured.json_lines();
    assert_eq!(lines.len(), 1, "only the ERROR line: {lines:?}");
    assert_eq!(lines[0]["requestId"], failed);
}

#[tokio::test]
async fn rust_log_directives_apply_per_target() {
    let vars = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("RUST_LOG", "warn,logging=debug"),
    ];
    let (api, captured, _guard) = serve(&vars, |l| l, charge).await;
    answered(&api, json!({})).await;
    let messages: Vec<Value> = captured
        .json_lines()
        .iter()
        .map(|line| line["message"].clone())
        .collect();
    assert!(
        messages.contains(&json!("checking the order")),
        "{messages:?}"
    );
    assert!(messages.contains(&json!("charging")));
}

#[tokio::test]
async fn text_lines_are_tab_separated_like_managed_runtimes() {
    let (api, captured, _guard) = serve(&[], |l| l, charge).await;
    let id = answered(&api, json!({})).await;
    let text = captured.text();
    let line = text
        .lines()
        .find(|line| line.contains("charging"))
        .expect("a charging line");
    let columns: Vec<&str> = line.split('\t').collect();
    assert_eq!(columns.len(), 4, "{line}");
    assert!(columns[0].ends_with('Z'));
    assert_eq!(columns[1], id);
    assert_eq!(columns[2], "INFO");
    assert_eq!(columns[3], "charging order_id=7 amount=12.5 express=true");
}

#[tokio::test]
async fn sampling_turns_debug_on_for_the_sampled_share() {
    let vars = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("POWERTOOLS_LOGGER_SAMPLE_RATE", "1"),
    ];
    let (api, captured, _guard) = serve(&vars, |l| l, charge).await;
    let id = answered(&api, json!({})).await;
    let debug: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line["level"] == "DEBUG")
        .collect();
    assert_eq!(debug.len(), 1);
    assert_eq!(debug[0]["requestId"], id);

    let (api, captured, _guard) = serve(
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
        |l| l.sample_rate(0.0),
        charge,
    )
    .await;
    answered(&api, json!({})).await;
    assert!(
        captured
            .json_lines()
            .iter()
            .all(|line| line["level"] != "DEBUG")
    );
}

#[tokio::test]
async fn buffered_debug_lines_are_written_only_when_the_invocation_fails() {
    let buffer = DebugBuffer {
        level: LevelFilter::DEBUG,
        max_bytes: 64 * 1024,
    };
    let (api, captured, _guard) = serve(
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
        |l| l.debug_buffer(buffer),
        charge,
    )
    .await;
    let ok = api.push(json!({}));
    api.answer(&ok).await;
    assert!(
        captured
            .json_lines()
            .iter()
            .all(|line| line["level"] != "DEBUG"),
        "dropped on success"
    );

    let failed = api.push(json!({"fail": true}));
    api.answer(&failed).await;
    let lines: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line["requestId"] == failed)
        .collect();
    let levels: Vec<&str> = lines
        .iter()
        .map(|line| line["level"].as_str().expect("level"))
        .collect();
    assert_eq!(
        levels,
        ["INFO", "DEBUG", "ERROR"],
        "the held line is written before the error: {lines:?}"
    );
    assert_eq!(lines[1]["message"], "checking the order");
}

#[tokio::test]
async fn a_full_debug_buffer_drops_the_oldest_lines_and_says_so() {
    let chatty = |_: Value, _: Context| async move {
        for n in 0..50 {
            tracing::debug!(n, "detail {n} of a long story");
        }
        Err::<Value, _>(Error::new("Test.Failure", "failed"))
    };
    let buffer = DebugBuffer {
        level: LevelFilter::DEBUG,
        max_bytes: 2_000,
    };
    let (api, captured, _guard) = serve(
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
        |l| l.debug_buffer(buffer),
        chatty,
    )
    .await;
    answered(&api, json!({})).await;
    let lines = captured.json_lines();
    let warning = lines
        .iter()
        .find(|line| line["level"] == "WARN")
        .expect("an eviction warning");
    assert!(
        warning["message"]
            .as_str()
            .expect("text")
            .contains("dropped")
    );
    let kept: Vec<u64> = lines
        .iter()
        .filter(|line| line["level"] == "DEBUG")
        .map(|line| line["n"].as_u64().expect("n"))
        .collect();
    assert!(!kept.is_empty() && kept.len() < 50, "{kept:?}");
    assert_eq!(
        *kept.last().expect("newest kept"),
        49,
        "the newest lines are kept"
    );
    let written: usize = captured
        .text()
        .lines()
        .filter(|l| l.contains("\"DEBUG\""))
        .map(|l| l.len() + 1)
        .sum();
    assert!(written <= 2_000);
}

#[derive(Debug, thiserror::Error)]
#[error("charge failed")]
struct ChargeFailed(#[source] std::io::Error);

#[tokio::test]
async fn errors_are_logged_with_their_source_chain() {
    let logs_error = |_: Value, _: Context| async move {
        let error = ChargeFailed(std::io::Error::other("connection reset"));
        tracing::warn!(error = &error as &dyn std::error::Error, "retrying");
        Ok::<Value, Error>(Value::Null)
    };
    let (api, captured, _guard) =
        serve(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")], |l| l, logs_error).await;
    answered(&api, json!({})).await;
    let line = captured
        .json_lines()
        .into_iter()
        .find(|line| line["message"] == "retrying")
        .expect("logged");
    assert_eq!(line["error"], "charge failed: connection reset");
}

#[test]
fn lines_outside_an_invocation_have_no_request_id() {
    let captured = Captured::default();
    let logging = Logging::from_lookup(&Config::local_defaults(), |_| None).format(LogFormat::Json);
    let subscriber =
        tracing_subscriber::registry().with(logging.tracing_layer_with_writer(captured.clone()));
    tracing::subscriber::with_default(subscriber, || tracing::info!("starting up"));
    let lines = captured.json_lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].get("requestId").is_none());
    assert_eq!(lines[0]["service"], "service_undefined");
}

async fn log_at_every_level(_: Value, _: Context) -> Result<Value, Error> {
    tracing::trace!("t");
    tracing::debug!("d");
    tracing::info!("i");
    tracing::warn!("w");
    tracing::error!("e");
    Ok(Value::Null)
}

#[tokio::test]
async fn each_lambda_level_keeps_that_level_and_the_more_severe() {
    let expectations: [(&str, &[&str]); 6] = [
        ("TRACE", &["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]),
        ("DEBUG", &["DEBUG", "INFO", "WARN", "ERROR"]),
        ("INFO", &["INFO", "WARN", "ERROR"]),
        ("WARN", &["WARN", "ERROR"]),
        ("ERROR", &["ERROR"]),
        ("FATAL", &["ERROR"]),
    ];
    for (setting, expected) in expectations {
        let vars = [
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", setting),
        ];
        let (api, captured, guard) = serve(&vars, |l| l, log_at_every_level).await;
        let id = answered(&api, json!({})).await;
        let levels: Vec<String> = captured
            .json_lines()
            .into_iter()
            .filter(|line| {
                line["requestId"] == id
                    && line["target"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("logging"))
            })
            .map(|line| line["level"].as_str().expect("level").to_owned())
            .collect();
        assert_eq!(levels, expected, "AWS_LAMBDA_LOG_LEVEL={setting}");
        drop(guard);
    }
}

#[tokio::test]
async fn concurrent_invocations_log_their_own_request_ids() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let config = tests::config_with(
        &api.address(),
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "3"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    );
    let captured = Captured::default();
    let logging = Logging::from_lookup(&config, |_| None);
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(logging.tracing_layer_with_writer(captured.clone())),
    );
    let barrier = Arc::new(tokio::sync::Barrier::new(3));
    let handler = handler_fn(move |event: Value, _: Context| {
        let barrier = Arc::clone(&barrier);
        async move {
            tracing::info!(n = event["n"].as_u64(), "before");
            barrier.wait().await;
            tracing::info!(n = event["n"].as_u64(), "after");
            Ok::<_, Error>(Value::Null)
        }
    });
    tokio::spawn(
        Runtime::from_config(config)
            .expect("runtime")
            .run_concurrent(handler),
    );
    let ids: Vec<String> = (0..3u64).map(|n| api.push(json!({ "n": n }))).collect();
    for id in &ids {
        api.answer(id).await;
    }
    let lines: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line.get("n").is_some())
        .collect();
    assert_eq!(lines.len(), 6);
    for line in lines {
        let n = line["n"].as_u64().expect("n") as usize;
        assert_eq!(line["requestId"], ids[n], "{line}");
    }
}

#[tokio::test]
async fn provisioned_concurrency_reports_no_cold_start() {
    let vars = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency"),
    ];
    let (api, captured, _guard) = serve(&vars, |logging| logging, charge).await;
    answered(&api, json!({})).await;
    answered(&api, json!({})).await;
    let cold: Vec<Value> = captured
        .json_lines()
        .into_iter()
        .filter(|line| line["message"] == "charging")
        .map(|line| line["cold_start"].clone())
        .collect();
    // The environment was initialised ahead of the first request: no request saw a cold
    // start, as Powertools reports it.
    assert_eq!(cold, [json!(false), json!(false)]);
}

/// The lines of one failing invocation under [`LogSchema::Powertools`], key by key against
/// the lines Powertools for AWS Lambda (Python) Logger writes for the same invocation
/// (`tests/powertools/logger.py`, run here with the same function, request and trace).
#[tokio::test]
async fn the_powertools_schema_matches_powertools_own_lines() {
    use lambda_kit::logging::LogSchema;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let vars = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("POWERTOOLS_SERVICE_NAME", "payments"),
    ];
    let declines = |_: Value, _: Context| async move {
        tracing::info!(order_id = 7, "charging");
        tracing::warn!("slow card network");
        Err::<Value, Error>(Error::new("PaymentDeclined", "card declined"))
    };
    let (api, captured, _guard) = serve(
        &vars,
        |logging| logging.schema(LogSchema::Powertools),
        declines,
    )
    .await;
    let id = api
        .push_invocation(FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", trace));
    api.answer(&id).await;
    let ours = captured.json_lines();
    let arn = ours[0]["function_arn"].as_str().expect("an ARN").to_owned();

    let python = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/powertools/logger.py"))
        .args([&id, &arn])
        .envs(
            vars.iter()
                .copied()
                .filter(|(name, _)| *name != "AWS_LAMBDA_LOG_FORMAT"),
        )
        .env("_X_AMZN_TRACE_ID", trace)
        .output()
        .expect("python3 runs (scripts/test.sh installs aws-lambda-powertools)");
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let theirs: Vec<Value> = String::from_utf8(python.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(theirs.len(), 3, "{theirs:#?}");

    for their in &theirs {
        let message = &their["message"];
        let our = ours
            .iter()
            .find(|line| &line["message"] == message)
            .unwrap_or_else(|| panic!("no line {message} in {ours:#?}"));
        let keys = |line: &Value| -> Vec<String> {
            let mut keys: Vec<String> = line.as_object().expect("object").keys().cloned().collect();
            keys.sort();
            keys
        };
        // lambda-kit's one extra key: whether the failure was the caller's fault.
        let mut our_keys = keys(our);
        our_keys.retain(|key| key != "clientError");
        assert_eq!(our_keys, keys(their), "the keys of {message}");
        for (key, theirs) in their.as_object().expect("object") {
            let ours = &our[key];
            match key.as_str() {
                // Lambda's level names and RFC 3339, which level filtering needs.
                "level" if theirs == "WARNING" => assert_eq!(ours, "WARN"),
                "timestamp" => assert!(ours.is_string(), "{ours}"),
                // Where it was logged: `where:line` in either language (the failure line
                // is the telemetry core's, which logs it).
                "location" => {
                    let (place, line) = ours
                        .as_str()
                        .and_then(|l| l.rsplit_once(':'))
                        .expect("where:line");
                    assert!(
                        ["logging", "lambda_kit::telemetry"].contains(&place)
                            && line.parse::<u32>().is_ok(),
                        "{ours}"
                    );
                }
                // The traceback ends with the line `Type: message`, all a Rust error has.
                "exception" => {
                    let last = theirs
                        .as_str()
                        .and_then(|t| t.lines().last())
                        .expect("text");
                    assert_eq!(ours, last);
                }
                "stack_trace" => {
                    assert_eq!(keys(ours), keys(theirs));
                    assert_eq!(ours["type"], theirs["type"]);
                    assert_eq!(ours["value"], theirs["value"]);
                }
                _ => assert_eq!(ours, theirs, "{key} of {message}"),
            }
        }
    }
}

#[tokio::test]
async fn the_log_schema_comes_from_the_environment() {
    let vars = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("LAMBDA_KIT_LOG_SCHEMA", "Powertools"),
        ("POWERTOOLS_LOGGER_SAMPLE_RATE", "0.5"),
    ];
    let (api, captured, _guard) = serve(&vars, |logging| logging, charge).await;
    let id = answered(&api, json!({})).await;
    let line = captured
        .json_lines()
        .into_iter()
        .find(|line| line["message"] == "charging")
        .expect("the line");
    assert_eq!(line["function_request_id"], id);
    assert_eq!(line["sampling_rate"], 0.5);
    assert!(line.get("requestId").is_none() && line.get("target").is_none());
}
