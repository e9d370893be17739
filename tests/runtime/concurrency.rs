//! Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY` workers serve invocations at once.

use std::sync::Arc;

use http::StatusCode;
use lambda_kit::runtime::ApiError;
use lambda_kit::testing::{FakeRuntimeApi, Fault, Route};
use lambda_kit::{Context, Error, Runtime, handler_fn};
use serde_json::{Value, json};
use tests::{accepted, config_with};

fn concurrent_runtime(api: &FakeRuntimeApi, workers: &str) -> Runtime {
    Runtime::from_config(config_with(
        &api.address(),
        &[("AWS_LAMBDA_MAX_CONCURRENCY", workers)],
    ))
    .expect("runtime")
}

#[tokio::test]
async fn invocations_are_in_flight_at_once_and_each_answered_once() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    // Each invocation waits for the other three: this only finishes if four run at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let handler = handler_fn(move |event: Value, ctx: Context| {
        let barrier = Arc::clone(&barrier);
        async move {
            barrier.wait().await;
            Ok::<_, Error>(json!({"n": event["n"], "requestId": ctx.request_id()}))
        }
    });
    let _runtime = tokio::spawn(concurrent_runtime(&api, "4").run_concurrent(handler));
    let ids: Vec<String> = (0..4).map(|n| api.push(json!({ "n": n }))).collect();
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(
            api.response_json(id).await,
            json!({"n": n, "requestId": id})
        );
        assert_eq!(accepted(&api.posts_for(id)).len(), 1);
    }
}

#[tokio::test]
async fn the_workers_share_the_init_state() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = concurrent_runtime(&api, "3");
    let greeting: &'static String = runtime
        .init(|| async { Ok::<_, Error>("shared".to_owned()) })
        .await
        .expect("init");
    let handler =
        handler_fn(move |_: Value, _: Context| async move { Ok::<_, Error>(greeting.as_str()) });
    let _runtime = tokio::spawn(runtime.run_concurrent(handler));
    for _ in 0..6 {
        let id = api.push(json!({}));
        assert_eq!(api.response_json(&id).await, json!("shared"));
    }
}

#[tokio::test]
async fn a_500_ends_every_worker() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let handler = handler_fn(|event: Value, _: Context| async move { Ok::<_, Error>(event) });
    let runtime = tokio::spawn(concurrent_runtime(&api, "3").run_concurrent(handler));
    api.wait_for_polls(3).await;
    api.inject(
        Route::Next,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "broken".into()),
    );
    // Wake one of the three waiting polls with an invocation; its next poll meets the 500.
    let id = api.push(json!(1));
    api.answer(&id).await;
    let error = runtime.await.expect("no panic").expect_err("ends");
    assert!(matches!(
        error.downcast_ref::<ApiError>(),
        Some(ApiError::ContainerError { .. })
    ));
}

#[tokio::test]
async fn without_the_variable_run_concurrent_serves_as_run_does() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let handler = handler_fn(|event: Value, _: Context| async move { Ok::<_, Error>(event) });
    let runtime = Runtime::from_config(tests::config_for(&api.address())).expect("runtime");
    let _runtime = tokio::spawn(runtime.run_concurrent(handler));
    let id = api.push(json!("one at a time"));
    assert_eq!(api.response_json(&id).await, json!("one at a time"));
    let next = api.push(json!("and the next"));
    assert_eq!(api.response_json(&next).await, json!("and the next"));
}

#[tokio::test]
async fn after_a_500_the_invocations_in_flight_are_answered_before_the_process_ends() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let release = Arc::new(tokio::sync::Notify::new());
    let held = Arc::clone(&release);
    let handler = handler_fn(move |event: Value, _: Context| {
        let held = Arc::clone(&held);
        async move {
            if event == json!("slow") {
                held.notified().await;
            }
            Ok::<_, Error>(event)
        }
    });
    let runtime = tokio::spawn(concurrent_runtime(&api, "2").run_concurrent(handler));
    api.wait_for_polls(2).await;
    let slow = api.push(json!("slow"));
    api.inject(
        Route::Next,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "broken".into()),
    );
    // The other worker serves this one, polls again and meets the 500.
    let fast = api.push(json!("fast"));
    assert_eq!(api.response_json(&fast).await, json!("fast"));
    while !api
        .calls()
        .iter()
        .any(|call| call.status == Some(StatusCode::INTERNAL_SERVER_ERROR))
    {
        tokio::task::yield_now().await;
    }
    // The environment is broken, but the slow invocation was handed out: it is answered.
    release.notify_one();
    assert_eq!(api.response_json(&slow).await, json!("slow"));
    let error = runtime.await.expect("no panic").expect_err("ends");
    assert!(matches!(
        error.downcast_ref::<ApiError>(),
        Some(ApiError::ContainerError { .. })
    ));
    assert_eq!(api.polls(), 3, "the stopped worker does not poll again");
}

#[tokio::test]
async fn a_concurrency_above_lambdas_range_fails_init_with_a_clear_message() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let config = lambda_kit::Config::from_lookup(|name| match name {
        "AWS_LAMBDA_RUNTIME_API" => Some(api.address()),
        "AWS_LAMBDA_MAX_CONCURRENCY" => Some("100000".into()),
        _ => None,
    });
    let error = config.expect_err("refused");
    assert_eq!(error.name, "AWS_LAMBDA_MAX_CONCURRENCY");
    assert!(error.to_string().contains("from 1 to 1600"), "{error}");
}
