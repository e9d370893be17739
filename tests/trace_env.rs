//! `_X_AMZN_TRACE_ID` follows the current invocation. A test binary of its own, because
//! the variable is process-global and other tests' loops would change it concurrently.

use lambda_kit::testing::FakeInvocation;
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};

async fn read_trace_env(_: Value, _: Context) -> Result<Value, Error> {
    Ok(json!(std::env::var("_X_AMZN_TRACE_ID").ok()))
}

#[tokio::test]
async fn the_trace_variable_is_set_per_invocation_and_cleared_when_absent() {
    let (api, _runtime) = tests::start(handler_fn(read_trace_env)).await;
    let traced = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", traced),
    );
    assert_eq!(api.response_json(&id).await, json!(traced));
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).without_header("lambda-runtime-trace-id"),
    );
    assert_eq!(api.response_json(&id).await, Value::Null);

    // With concurrent workers no single process-wide variable could be right: it stays unset.
    let concurrent_api = lambda_kit::testing::FakeRuntimeApi::start()
        .await
        .expect("starts");
    let config = tests::config_with(
        &concurrent_api.address(),
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "2")],
    );
    let runtime = lambda_kit::Runtime::from_config(config).expect("runtime");
    tokio::spawn(runtime.run_concurrent(handler_fn(read_trace_env)));
    let id = concurrent_api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", traced),
    );
    assert_eq!(concurrent_api.response_json(&id).await, Value::Null);

    // On the multi-thread executor a task of an earlier invocation may read the
    // environment on another thread while it would be written: the variable is left
    // alone. (In this test, after the loops above, because the variable is global.)
    let multi_thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a multi-thread runtime")
            .block_on(async move {
                let (api, _runtime) = tests::start(handler_fn(read_trace_env)).await;
                let id = api.push_invocation(
                    FakeInvocation::json(&json!({})).header("lambda-runtime-trace-id", traced),
                );
                api.response_json(&id).await
            })
    });
    assert_eq!(multi_thread.join().expect("the check ran"), Value::Null);
}
