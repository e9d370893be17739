//! lambda-kit and Powertools for AWS Lambda (Python) itself on one DynamoDB table: the
//! Python side is `aws-lambda-powertools` (installed by `scripts/test.sh`), run by
//! `tests/powertools/driver.py` against the DynamoDB-compatible test server.
//!
//! Both orders, for every class of value a key can hold: an event completed by one is
//! answered by the other from the record (its work does not run), an in-progress record of
//! one blocks the other, one that expired is taken over, and a changed payload under
//! validation is refused by both.

#![cfg(feature = "dynamodb")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_kit::{Context, Error};
use lambda_kit_idempotency::store::DynamoDbStore;
use lambda_kit_idempotency::{Idempotency, error_type};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The Python handler both sides name their keys after: `lambda_handler` in `app.py`.
const HANDLER: &str = "app.lambda_handler";

/// One event, and what its key and validation select.
struct Case {
    name: &'static str,
    key: Option<&'static str>,
    validation: Option<&'static str>,
    event: &'static str,
}

/// Every class of value the key text must agree on.
const CASES: &[Case] = &[
    Case {
        name: "ASCII string",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": "order-123 \"quoted\" \\ /", "amount": 5}"#,
    },
    Case {
        name: "non-ASCII string and controls",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": "café über straße ñ \u0001\t\n\u007f"}"#,
    },
    Case {
        name: "emoji",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": "🍕🚀 \ud83d\ude00"}"#,
    },
    Case {
        name: "integer beyond 2^53",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": 9007199254740993}"#,
    },
    Case {
        name: "integers beyond 2^64",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": [18446744073709551616, -123456789012345678901234567890, -0]}"#,
    },
    Case {
        name: "floats in every repr range",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": [1.5e-07, 1e-05, 0.0001, 0.5, 100.0, 1E2, 1e15, 1e16, 1.7976931348623157e308, 5e-324, -0.0, 3.141592653589793]}"#,
    },
    Case {
        name: "nested arrays and objects (whole event)",
        key: None,
        validation: None,
        event: r#"{"b": {"z": [1, {"y": null, "x": [true, false, []]}], "a": "é"}, "a": [[], {}], "B": 2}"#,
    },
    Case {
        name: "booleans and null",
        key: Some("order_id"),
        validation: None,
        event: r#"{"order_id": [true, false, null, 0]}"#,
    },
    Case {
        name: "JMESPath selection of several fields",
        key: Some("[customer, order_id, details.{b: b, a: a}]"),
        validation: None,
        event: r#"{"customer": "c-é", "order_id": 7, "details": {"a": 1.0, "b": "x"}, "noise": 1}"#,
    },
    Case {
        name: "powertools_json(body) selection, with validation",
        key: Some("powertools_json(body).[order_id, amount]"),
        validation: Some("powertools_json(body).price"),
        event: r#"{"headers": {"host": "x"}, "body": "{\"order_id\": \"o-9\", \"amount\": 123456789012345678901234, \"price\": 1e-7}"}"#,
    },
    Case {
        name: "validation that selects nothing",
        key: Some("order_id"),
        validation: Some("missing"),
        event: r#"{"order_id": "o-10"}"#,
    },
];

/// Powertools for Python, driven through `driver.py` for one function name.
struct Powertools {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Powertools {
    fn start(function: &str) -> Self {
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/powertools/driver.py"
            ))
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("LAMBDA_KIT_TEST_DYNAMODB_URL", common::dynamodb_url())
            .env("LAMBDA_KIT_TEST_TABLE", common::dynamodb_table())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/test.sh installs aws-lambda-powertools)");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Powertools {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("the driver reads");
        self.stdin.flush().expect("flush");
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the driver answers");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("driver answered {line:?}"))
    }

    fn command(op: &str, case: &Case) -> Value {
        json!({
            "op": op,
            "event": case.event,
            "handler": HANDLER,
            "key": case.key,
            "validation": case.validation,
        })
    }

    /// The record key and validation hash Powertools computes for the case's event.
    fn key(&mut self, case: &Case) -> (String, String) {
        self.send(&Self::command("key", case).to_string());
        let answer = self.read();
        let text = |field: &str| answer[field].as_str().unwrap_or_default().to_owned();
        (text("key"), text("validation"))
    }

    /// Invokes the idempotent Python handler on the case's event.
    fn invoke(&mut self, case: &Case) -> Value {
        self.send(&Self::command("invoke", case).to_string());
        self.read()
    }

    /// Invokes the handler and stops it inside its work, with `remaining_ms` left of its
    /// invocation: its in-progress record is stored when this returns.
    fn invoke_and_hold(&mut self, case: &Case, remaining_ms: i64) {
        let mut command = Self::command("invoke", case);
        command["hold"] = json!(true);
        command["remaining_ms"] = json!(remaining_ms);
        self.send(&command.to_string());
        assert_eq!(self.read(), json!({"held": true}));
    }

    /// Lets a held handler finish, and returns its answer.
    fn release(&mut self) -> Value {
        self.send("release");
        self.read()
    }

    /// Ends the process inside a held handler, leaving its record in progress.
    fn crash(mut self) {
        self.send("crash");
        let status = self.child.wait().expect("the driver exits");
        assert_eq!(status.code(), Some(3), "the driver crashed on purpose");
    }
}

impl Drop for Powertools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Rust function sharing the table: the same function name and Python handler name.
fn lambda_kit(function: &str, case: &Case) -> Idempotency {
    let store = DynamoDbStore::builder(
        common::dynamodb_client(&common::dynamodb_url()),
        common::dynamodb_table(),
    )
    .build();
    let mut builder = Idempotency::builder(store)
        .function_name(function)
        .powertools_compatible(HANDLER)
        .local_cache(0);
    if let Some(key) = case.key {
        builder = builder.key_jmespath(key);
    }
    if let Some(validation) = case.validation {
        builder = builder.validation_jmespath(validation);
    }
    builder.build().expect("valid configuration")
}

/// Work that counts its runs and answers as the Rust side.
#[derive(Default)]
struct RustWork(AtomicUsize);

impl RustWork {
    async fn run(&self) -> Result<Value, Error> {
        let run = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(json!({"handled_by": "rust", "run": run}))
    }

    fn runs(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs the case's event through lambda-kit, the event kept as its text (so that integers
/// beyond 64 bits keep their digits).
async fn run_rust(
    idempotency: &Idempotency,
    ctx: &Context,
    case: &Case,
    work: &RustWork,
) -> Result<Value, Error> {
    let event: Box<RawValue> = serde_json::from_str(case.event).expect("case JSON");
    idempotency.run(ctx, &*event, || work.run()).await
}

/// Starts the case's event through lambda-kit in a task whose work waits for `finish`,
/// and returns once the work has started (its in-progress record is stored).
async fn run_rust_until(
    idempotency: &Idempotency,
    ctx: Context,
    case: &'static Case,
    finish: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<Result<Value, Error>> {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let idempotency = idempotency.clone();
    let task = tokio::spawn(async move {
        let event: Box<RawValue> = serde_json::from_str(case.event).expect("case JSON");
        idempotency
            .run(&ctx, &*event, || async move {
                let _ = started_tx.send(());
                finish.await;
                Ok::<_, Error>(json!({"handled_by": "rust", "run": 1}))
            })
            .await
    });
    started_rx.await.expect("the work started");
    task
}

/// The status of the item under `key`, if there is one.
async fn item_status(key: &str) -> Option<String> {
    let item = common::dynamodb_client(&common::dynamodb_url())
        .get_item()
        .table_name(common::dynamodb_table())
        .key("id", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item?;
    item.get("status")?.as_s().ok().cloned()
}

#[tokio::test]
async fn an_event_python_completed_is_answered_by_lambda_kit() {
    let function = common::unique("py-then-rust");
    let mut python = Powertools::start(&function);
    let mut failures = Vec::new();
    for case in CASES {
        let first = python.invoke(case);
        assert_eq!(first["ran"], json!(true), "{}: {first}", case.name);
        assert_eq!(first["error"], Value::Null, "{}: {first}", case.name);

        let work = RustWork::default();
        let idempotency = lambda_kit(&function, case);
        let replay = run_rust(&idempotency, &common::ctx(), case, &work)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        if work.runs() != 0 || replay != first["response"] {
            let (key, _) = python.key(case);
            failures.push(format!(
                "{}: lambda-kit ran the work again ({replay}); Powertools' key is {key}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn an_event_lambda_kit_completed_is_answered_by_python() {
    let function = common::unique("rust-then-py");
    let mut python = Powertools::start(&function);
    let mut failures = Vec::new();
    for case in CASES {
        let work = RustWork::default();
        let idempotency = lambda_kit(&function, case);
        let first = run_rust(&idempotency, &common::ctx(), case, &work)
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        assert_eq!(work.runs(), 1, "{}", case.name);

        let (key, _) = python.key(case);
        let stored = item_status(&key).await;
        let replay = python.invoke(case);
        if stored.as_deref() != Some("COMPLETED")
            || replay["ran"] != json!(false)
            || replay["response"] != first
        {
            failures.push(format!(
                "{}: no completed record under Powertools' key {key} ({stored:?}); Python answered {replay}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The case the lifecycle tests use: a body selection, and validation.
fn order_case() -> &'static Case {
    &CASES[9]
}

#[tokio::test]
async fn an_in_progress_python_invocation_blocks_lambda_kit() {
    let function = common::unique("py-holds");
    let case = order_case();
    let mut python = Powertools::start(&function);
    python.invoke_and_hold(case, 60_000);

    let work = RustWork::default();
    let idempotency = lambda_kit(&function, case);
    let error = run_rust(&idempotency, &common::ctx(), case, &work)
        .await
        .expect_err("the key is held by Python");
    assert_eq!(error.error_type(), error_type::ALREADY_IN_PROGRESS);
    assert_eq!(work.runs(), 0);

    let finished = python.release();
    assert_eq!(finished["error"], Value::Null, "{finished}");
    let replay = run_rust(&idempotency, &common::ctx(), case, &work)
        .await
        .expect("replayed");
    assert_eq!(replay, finished["response"]);
    assert_eq!(work.runs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_progress_lambda_kit_invocation_blocks_python() {
    let function = common::unique("rust-holds");
    let case = order_case();
    let idempotency = lambda_kit(&function, case);
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let held = run_rust_until(&idempotency, common::ctx(), case, async move {
        let _ = release_rx.await;
    })
    .await;

    let mut python = Powertools::start(&function);
    let blocked = python.invoke(case);
    assert_eq!(
        blocked,
        json!({"ran": false, "response": null, "error": "IdempotencyAlreadyInProgressError"})
    );

    let _ = release_tx.send(());
    let response = held.await.expect("task").expect("the work finished");
    let replay = python.invoke(case);
    assert_eq!(replay["ran"], json!(false), "{replay}");
    assert_eq!(replay["response"], response);
}

#[tokio::test]
async fn lambda_kit_takes_over_from_a_python_invocation_that_died_past_its_deadline() {
    let function = common::unique("py-died");
    let case = order_case();
    let mut python = Powertools::start(&function);
    // Its deadline has passed: the record's in-progress expiry is a second ago.
    python.invoke_and_hold(case, -1_000);
    python.crash();

    let work = RustWork::default();
    let idempotency = lambda_kit(&function, case);
    run_rust(&idempotency, &common::ctx(), case, &work)
        .await
        .expect("taken over");
    assert_eq!(work.runs(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_takes_over_from_a_lambda_kit_invocation_that_died_past_its_deadline() {
    let function = common::unique("rust-died");
    let case = order_case();
    let idempotency = lambda_kit(&function, case);
    let past_deadline = lambda_kit::testing::context()
        .deadline(SystemTime::now() - Duration::from_secs(1))
        .build();
    let dying = run_rust_until(&idempotency, past_deadline, case, std::future::pending()).await;
    // The invocation dies inside its work: its record stays in progress.
    dying.abort();
    let _ = dying.await;

    let mut python = Powertools::start(&function);
    let (key, _) = python.key(case);
    assert_eq!(item_status(&key).await.as_deref(), Some("INPROGRESS"));
    let taken_over = python.invoke(case);
    assert_eq!(taken_over["ran"], json!(true), "{taken_over}");
    assert_eq!(taken_over["error"], Value::Null, "{taken_over}");
}

/// The order case with another price: the same key, another validation hash.
const CHANGED_PRICE: Case = Case {
    name: "changed price",
    key: Some("powertools_json(body).[order_id, amount]"),
    validation: Some("powertools_json(body).price"),
    event: r#"{"headers": {"host": "x"}, "body": "{\"order_id\": \"o-9\", \"amount\": 123456789012345678901234, \"price\": 2e-7}"}"#,
};

#[tokio::test]
async fn a_changed_payload_is_refused_by_both_sides() {
    // Python first, then a changed payload to lambda-kit.
    let function = common::unique("validate-py-first");
    let mut python = Powertools::start(&function);
    let first = python.invoke(order_case());
    assert_eq!(first["error"], Value::Null, "{first}");
    let work = RustWork::default();
    let idempotency = lambda_kit(&function, order_case());
    let error = run_rust(&idempotency, &common::ctx(), &CHANGED_PRICE, &work)
        .await
        .expect_err("the payload changed");
    assert_eq!(error.error_type(), error_type::VALIDATION);
    assert_eq!(work.runs(), 0);

    // lambda-kit first, then a changed payload to Python.
    let function = common::unique("validate-rust-first");
    let mut python = Powertools::start(&function);
    let idempotency = Arc::new(lambda_kit(&function, order_case()));
    run_rust(&idempotency, &common::ctx(), order_case(), &work)
        .await
        .expect("runs");
    let refused = python.invoke(&CHANGED_PRICE);
    assert_eq!(
        refused,
        json!({"ran": false, "response": null, "error": "IdempotencyValidationError"})
    );
}

#[tokio::test]
async fn the_validation_hash_is_the_one_python_stores() {
    let function = common::unique("validation-hash");
    let mut python = Powertools::start(&function);
    for case in CASES.iter().filter(|case| case.validation.is_some()) {
        let work = RustWork::default();
        run_rust(&lambda_kit(&function, case), &common::ctx(), case, &work)
            .await
            .expect("runs");
        let (key, validation) = python.key(case);
        let item = common::dynamodb_client(&common::dynamodb_url())
            .get_item()
            .table_name(common::dynamodb_table())
            .key("id", AttributeValue::S(key.clone()))
            .send()
            .await
            .expect("GetItem")
            .item
            .unwrap_or_else(|| panic!("{}: no item under {key}", case.name));
        assert_eq!(
            item.get("validation").and_then(|value| value.as_s().ok()),
            Some(&validation),
            "{}",
            case.name
        );
    }
}
