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

/// Reads one request (head and `content-length` body) from `stream`.
async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .map_or(0, |value| value.parse::<usize>().expect("a length"));
            if body.len() >= length {
                return text;
            }
        }
        let mut buffer = [0u8; 4096];
        let read = stream.read(&mut buffer).await.expect("read");
        assert!(read > 0, "the runtime closed mid-request");
        seen.extend_from_slice(&buffer[..read]);
    }
}

#[tokio::test]
async fn an_answer_that_is_not_http_is_dropped_with_its_connection_and_the_poll_retried() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let runtime = tests::spawn_runtime(&address, handler_fn(echo));

    let (mut first, _) = listener.accept().await.expect("first connection");
    assert!(read_request(&mut first).await.starts_with("GET "));
    first
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n")
        .await
        .expect("write");

    // The runtime gives up on that connection and polls again on a new one.
    let (mut second, _) = listener.accept().await.expect("second connection");
    assert!(read_request(&mut second).await.starts_with("GET "));
    let event = br#""after garbage""#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: r-1\r\n\
         lambda-runtime-deadline-ms: 4102444800000\r\ncontent-length: {}\r\n\r\n",
        event.len()
    );
    second.write_all(answer.as_bytes()).await.expect("write");
    second.write_all(event).await.expect("write");
    let post = read_request(&mut second).await;
    assert!(
        post.starts_with("POST /2018-06-01/runtime/invocation/r-1/response HTTP/1.1\r\n"),
        "{post}"
    );
    assert!(post.ends_with("\r\n\r\n\"after garbage\""), "{post}");
    runtime.abort();
}
