//! The `idempotent-payment` binary's contract: one charge per order, on every store, even
//! when several processes get the same order at once.
//!
//! The Redis and DynamoDB cases use the servers `scripts/test-servers.sh` starts.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, SystemTime};

use lambda_kit::testing::FakeRuntimeApi;
use lambda_kit_idempotency::store::RedisStore;
use lambda_kit_idempotency::{Record, Status, Store, hash_value};
use serde_json::{Value, json};
use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_idempotent-payment");

/// A store setting and the environment it needs.
struct StoreEnv {
    setting: String,
    vars: Vec<(&'static str, String)>,
}

fn server_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, or `source scripts/test-servers.sh` first")
    })
}

fn redis() -> StoreEnv {
    StoreEnv {
        setting: server_env("LAMBDA_KIT_TEST_REDIS_URL"),
        vars: Vec::new(),
    }
}

/// The table through the usual AWS variables, as a deployed function gets them.
fn dynamodb() -> StoreEnv {
    StoreEnv {
        setting: format!("dynamodb://{}", server_env("LAMBDA_KIT_TEST_TABLE")),
        vars: vec![
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                server_env("LAMBDA_KIT_TEST_DYNAMODB_URL"),
            ),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ],
    }
}

/// A ledger file of its own, and an order id no other test run uses.
fn fresh(name: &str) -> (PathBuf, String) {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let unique = format!("{name}-{}-{nanos}", std::process::id());
    let ledger = std::env::temp_dir().join(format!("ledger-{unique}.txt"));
    (ledger, format!("order-{unique}"))
}

/// The binary with a clean environment, the store and the ledger.
fn payment(store: &StoreEnv, ledger: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IDEMPOTENCY_STORE", &store.setting)
        .env("PAYMENT_LEDGER", ledger)
        .envs(store.vars.iter().map(|(name, value)| (*name, value)))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn invoke_once(store: &StoreEnv, ledger: &Path, event: &Value) -> (Output, Value) {
    let output = payment(store, ledger)
        .arg("--event")
        .arg(event.to_string())
        .output()
        .await
        .expect("the binary runs");
    let answer = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, answer)
}

fn ledger_lines(ledger: &Path) -> Vec<String> {
    std::fs::read_to_string(ledger)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn as_a_bootstrap_duplicates_replay_and_a_changed_amount_fails() {
    let (ledger, order) = fresh("bootstrap");
    let api = FakeRuntimeApi::start().await.expect("fake API starts");
    let mut child = Command::from(api.bootstrap_command(BINARY))
        .env("IDEMPOTENCY_STORE", "memory")
        .env("PAYMENT_LEDGER", &ledger)
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");

    let first = api.push(json!({"order_id": order, "amount": 12.5}));
    let duplicate = api.push(json!({"order_id": order, "amount": 12.5}));
    let changed = api.push(json!({"order_id": order, "amount": 13}));

    let receipt = api.response_json(&first).await;
    assert_eq!(
        receipt,
        json!({"order_id": order, "amount": 12.5, "charge_id": first})
    );
    assert_eq!(api.response_json(&duplicate).await, receipt);
    let error = api.error_answer(&changed).await;
    assert_eq!(error.error_type, "Idempotency.Validation");
    assert_eq!(ledger_lines(&ledger), [format!("{order} 12.5 {first}")]);
    child.kill().await.expect("stops");
}

#[tokio::test]
async fn powertools_idempotency_disabled_charges_every_delivery() {
    let (ledger, order) = fresh("disabled");
    let api = FakeRuntimeApi::start().await.expect("fake API starts");
    let mut child = Command::from(api.bootstrap_command(BINARY))
        .env("IDEMPOTENCY_STORE", "memory")
        .env("PAYMENT_LEDGER", &ledger)
        .env("POWERTOOLS_IDEMPOTENCY_DISABLED", "true")
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");

    let first = api.push(json!({"order_id": order, "amount": 3}));
    let second = api.push(json!({"order_id": order, "amount": 3}));

    assert_eq!(api.response_json(&first).await["charge_id"], first.as_str());
    assert_eq!(
        api.response_json(&second).await["charge_id"],
        second.as_str()
    );
    assert_eq!(ledger_lines(&ledger).len(), 2);
    child.kill().await.expect("stops");
}

/// Processes started together with one order: one charge, one charge id for all that
/// answered, and AlreadyInProgress for any that came while it ran. Then a replay.
async fn processes_share_one_charge(store: StoreEnv, name: &str) {
    let (ledger, order) = fresh(name);
    // The delay keeps the first charge running while the others arrive; the assertions
    // hold whatever the interleaving.
    let event = json!({"order_id": order, "amount": 7, "delay_ms": 200});
    let processes: Vec<_> = (0..4)
        .map(|_| invoke_once(&store, &ledger, &event))
        .collect();
    let outcomes = futures_util::future::join_all(processes).await;

    let lines = ledger_lines(&ledger);
    assert_eq!(lines.len(), 1, "exactly one charge: {lines:?}");
    let charge_id = lines[0]
        .strip_prefix(&format!("{order} 7 "))
        .expect("the ledger line names the order and amount")
        .to_owned();
    for (output, answer) in &outcomes {
        match output.status.code() {
            Some(0) => assert_eq!(
                *answer,
                json!({"order_id": order, "amount": 7, "charge_id": charge_id})
            ),
            _ => assert_eq!(
                answer["errorType"], "Idempotency.AlreadyInProgress",
                "{answer}"
            ),
        }
    }
    let (output, replay) = invoke_once(&store, &ledger, &event).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(replay["charge_id"], charge_id.as_str());
    assert_eq!(ledger_lines(&ledger).len(), 1);
    let _ = std::fs::remove_file(ledger);
}

#[tokio::test]
async fn processes_on_redis_charge_once() {
    processes_share_one_charge(redis(), "redis").await;
}

#[tokio::test]
async fn processes_on_dynamodb_charge_once() {
    processes_share_one_charge(dynamodb(), "dynamodb").await;
}

#[tokio::test]
async fn a_duplicate_while_another_environment_charges_is_already_in_progress() {
    let store = redis();
    let (ledger, order) = fresh("in-progress");
    // Another environment is charging this order right now: its record is in progress
    // until its deadline, ten minutes away.
    let redis = RedisStore::connect(&store.setting)
        .await
        .expect("the test Redis server answers");
    let now = SystemTime::now();
    let epoch = |time: SystemTime| {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
    };
    let charging = Record {
        key: format!("function#{}", hash_value(&json!(order))),
        status: Status::InProgress,
        expiration: epoch(now + Duration::from_secs(3600)).as_secs(),
        in_progress_expiration: Some(
            u64::try_from(epoch(now + Duration::from_secs(600)).as_millis()).expect("fits"),
        ),
        data: None,
        validation: Some(hash_value(&json!(5))),
    };
    redis.acquire(&charging, now).await.expect("acquired");

    let (output, answer) =
        invoke_once(&store, &ledger, &json!({"order_id": order, "amount": 5})).await;

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(answer["errorType"], "Idempotency.AlreadyInProgress");
    assert!(ledger_lines(&ledger).is_empty(), "no charge");
}

#[tokio::test]
async fn an_unknown_store_fails_init_with_a_clear_message() {
    let (ledger, order) = fresh("unknown");
    let store = StoreEnv {
        setting: "postgres://db".into(),
        vars: Vec::new(),
    };
    let output = payment(&store, &ledger)
        .arg("--event")
        .arg(json!({"order_id": order, "amount": 1}).to_string())
        .output()
        .await
        .expect("the binary runs");

    assert_ne!(output.status.code(), Some(0));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("IDEMPOTENCY_STORE=postgres://db"),
        "{printed}"
    );
    assert!(ledger_lines(&ledger).is_empty());
}
