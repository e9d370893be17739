//! What the loop does when the Runtime API misbehaves: 500 ends it, refusals of a post are
//! logged and skipped, dropped connections are re-established, slow answers are awaited.

use std::time::Duration;

use http::StatusCode;
use lambda_kit::runtime::ApiError;
use lambda_kit::testing::{FakeInvocation, Fault, Route};
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};
use tests::{accepted, start};

async fn echo(event: Value, _: Context) -> Result<Value, Error> {
    Ok(event)
}

async fn fails(_: Value, _: Context) -> Result<Value, Error> {
    Err(Error::new("Test.Failure", "failed"))
}

fn container_error(outcome: Result<(), Error>) -> bool {
    let error = outcome.expect_err("the loop ends with an error");
    matches!(
        error.downcast_ref::<ApiError>(),
        Some(ApiError::ContainerError { .. })
    )
}

#[tokio::test]
async fn a_500_on_next_ends_the_loop_with_a_container_error() {
    let (api, runtime) = start(handler_fn(echo)).await;
    api.inject(
        Route::Next,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "broken".into()),
    );
    let outcome = runtime.await.expect("the loop task does not panic");
    assert!(container_error(outcome));
}

#[tokio::test]
async fn a_500_on_a_response_ends_the_loop() {
    let (api, runtime) = start(handler_fn(echo)).await;
    api.inject(
        Route::Response,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "broken".into()),
    );
    api.push(json!(1));
    assert!(container_error(runtime.await.expect("no panic")));
}

#[tokio::test]
async fn a_500_on_an_error_post_ends_the_loop() {
    let (api, runtime) = start(handler_fn(fails)).await;
    api.inject(
        Route::Error,
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR, "broken".into()),
    );
    api.push(json!(1));
    assert!(container_error(runtime.await.expect("no panic")));
}

#[tokio::test]
async fn refused_responses_are_logged_and_the_loop_goes_on() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    for status in [400, 403, 404, 410] {
        let status = StatusCode::from_u16(status).expect("valid");
        api.inject(Route::Response, Fault::Status(status, "{}".into()));
        let refused = api.push(json!("refused"));
        let served = api.push(json!("served"));
        assert_eq!(api.response_json(&served).await, json!("served"));
        let posts = api.posts_for(&refused);
        assert_eq!(
            posts.len(),
            1,
            "{status}: one response post, no retry, no error post"
        );
        assert_eq!(posts[0].status, Some(status));
    }
}

#[tokio::test]
async fn refused_error_posts_are_logged_and_the_loop_goes_on() {
    let (api, _runtime) = start(handler_fn(fails)).await;
    api.inject(
        Route::Error,
        Fault::Status(StatusCode::FORBIDDEN, "{}".into()),
    );
    let refused = api.push(json!(1));
    let next = api.push(json!(2));
    assert_eq!(api.error_answer(&next).await.error_type, "Test.Failure");
    assert_eq!(api.posts_for(&refused).len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_while_waiting_on_next_is_reestablished() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(Route::Next, Fault::DropConnection);
    api.inject(Route::Next, Fault::DropConnection);
    let id = api.push(json!("after two resets"));
    assert_eq!(api.response_json(&id).await, json!("after two resets"));
    assert!(api.polls() >= 3);
}

#[tokio::test]
async fn a_connection_dropped_during_a_response_post_is_retried_once_answered() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(Route::Response, Fault::DropConnection);
    let id = api.push(json!("kept"));
    assert_eq!(api.response_json(&id).await, json!("kept"));
    let posts = api.posts_for(&id);
    assert_eq!(posts.len(), 2, "the dropped post and its retry");
    assert_eq!(posts[0].status, None);
    assert_eq!(accepted(&posts).len(), 1);
}

#[tokio::test]
async fn a_slow_api_is_waited_for_without_a_timeout() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(Route::Next, Fault::Delay(Duration::from_secs(2)));
    api.inject(Route::Response, Fault::Delay(Duration::from_secs(2)));
    let id = api.push(json!("slow"));
    assert_eq!(api.response_json(&id).await, json!("slow"));
    assert_eq!(accepted(&api.posts_for(&id)).len(), 1);
}

#[tokio::test]
async fn next_refused_repeatedly_ends_the_loop() {
    let (api, runtime) = start(handler_fn(echo)).await;
    for _ in 0..20 {
        api.inject(
            Route::Next,
            Fault::Status(StatusCode::FORBIDDEN, "{}".into()),
        );
    }
    let error = runtime.await.expect("no panic").expect_err("gives up");
    assert!(matches!(
        error.downcast_ref::<ApiError>(),
        Some(ApiError::NextRefused { status, .. }) if *status == StatusCode::FORBIDDEN
    ));
}

#[tokio::test]
async fn a_few_refused_polls_are_retried() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(
        Route::Next,
        Fault::Status(StatusCode::FORBIDDEN, "{}".into()),
    );
    api.inject(
        Route::Next,
        Fault::Status(StatusCode::NO_CONTENT, String::new()),
    );
    let id = api.push(json!("eventually"));
    assert_eq!(api.response_json(&id).await, json!("eventually"));
}

#[tokio::test]
async fn an_unreachable_api_ends_the_loop() {
    let api = lambda_kit::testing::FakeRuntimeApi::start()
        .await
        .expect("starts");
    let address = api.address();
    drop(api);
    let outcome = tests::spawn_runtime(&address, handler_fn(echo))
        .await
        .expect("no panic");
    let error = outcome.expect_err("gives up");
    assert!(matches!(
        error.downcast_ref::<ApiError>(),
        Some(ApiError::Unreachable { .. })
    ));
}

#[tokio::test]
async fn an_invocation_without_a_request_id_is_skipped() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    let orphan = api.push_invocation(
        FakeInvocation::json(&json!(1)).without_header("lambda-runtime-aws-request-id"),
    );
    let next = api.push(json!(2));
    assert_eq!(api.response_json(&next).await, json!(2));
    assert!(api.posts_for(&orphan).is_empty());
}

#[tokio::test]
async fn a_request_id_cannot_steer_a_post_to_another_resource() {
    let (api, _runtime) = start(handler_fn(fails)).await;
    let id =
        api.push_invocation(FakeInvocation::json(&json!(1)).request_id("abc/../../init/error"));
    assert_eq!(api.error_answer(&id).await.error_type, "Test.Failure");
    let calls = api.calls();
    assert!(
        calls.iter().all(|call| call.route != Route::InitError),
        "{calls:?}"
    );
    let post = &api.posts_for(&id)[0];
    assert_eq!(post.route, Route::Error);
    assert!(post.path.contains("abc%2F%2E%2E%2F"), "{}", post.path);
}
