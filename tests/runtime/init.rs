//! Init: state built once; a failing or panicking init is posted to `/runtime/init/error`
//! and nothing is polled.

use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_kit::testing::FakeRuntimeApi;
use lambda_kit::{Context, Error, Runtime, handler_fn};
use serde_json::{Value, json};
use tests::{assert_error_post, config_for};

#[derive(Debug, thiserror::Error)]
#[error("TABLE_NAME is not set")]
struct MissingTable;

#[tokio::test]
async fn a_failing_init_is_posted_and_nothing_is_polled() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = Runtime::from_config(config_for(&api.address())).expect("runtime");
    let outcome = runtime.init(|| async { Err::<(), _>(MissingTable) }).await;
    let error = outcome.expect_err("init fails");
    assert_eq!(error.error_type(), "MissingTable");
    let post = api.init_error().await;
    assert_error_post(
        &post.headers,
        &post.body,
        "MissingTable",
        "TABLE_NAME is not set",
    );
    assert_eq!(api.polls(), 0);
}

#[tokio::test]
async fn a_panicking_init_is_posted_too() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = Runtime::from_config(config_for(&api.address())).expect("runtime");
    let outcome = runtime
        .init(|| -> std::future::Ready<Result<(), Error>> { panic!("no config file") })
        .await;
    assert_eq!(
        outcome.expect_err("init fails").error_type(),
        "Runtime.Panic"
    );
    let body: Value = serde_json::from_slice(&api.init_error().await.body).expect("JSON");
    assert_eq!(body["errorType"], "Runtime.Panic");
    assert!(
        body["errorMessage"]
            .as_str()
            .expect("text")
            .contains("no config file")
    );
    assert_eq!(api.polls(), 0);
}

static SETUPS: AtomicUsize = AtomicUsize::new(0);

struct Prices {
    per_unit: u64,
}

#[tokio::test]
async fn init_state_is_built_once_and_shared_by_every_invocation() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = Runtime::from_config(config_for(&api.address())).expect("runtime");
    let prices: &'static Prices = runtime
        .init(|| async {
            SETUPS.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Error>(Prices { per_unit: 3 })
        })
        .await
        .expect("init succeeds");
    let handler =
        handler_fn(
            move |units: u64, _: Context| async move { Ok::<_, Error>(units * prices.per_unit) },
        );
    let _loop = tokio::spawn(runtime.run(handler));
    for units in 1..=5u64 {
        let id = api.push(units);
        assert_eq!(api.response_json(&id).await, json!(units * 3));
    }
    assert_eq!(SETUPS.load(Ordering::SeqCst), 1);
}
