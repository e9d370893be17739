//! A Runtime API that misbehaves below HTTP: bytes no request asked for, connections closed
//! while idle, answers cut short, heads and bodies out of bounds. Whatever the wire does,
//! every invocation the runtime was handed ends in exactly one answer.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use lambda_kit::streaming::StreamResponse;
use lambda_kit::testing::{AnswerKind, FakeInvocation, FakeRuntimeApi, Fault, Route};
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};
use tests::{accepted, spawn_runtime, start};

async fn echo(event: Value, _: Context) -> Result<Value, Error> {
    Ok(event)
}

/// Pushes `count` invocations and checks that each one got exactly one accepted answer,
/// its own event back.
async fn every_later_invocation_is_answered_once(api: &FakeRuntimeApi, count: usize) {
    let ids: Vec<String> = (0..count).map(|n| api.push(json!({ "n": n }))).collect();
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(
            api.response_json(id).await,
            json!({ "n": n }),
            "invocation {n}"
        );
    }
    for id in &ids {
        assert_eq!(accepted(&api.posts_for(id)).len(), 1, "one answer for {id}");
    }
}

const STRAY_202: &[u8] =
    b"HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n";

fn stray_invocation() -> Bytes {
    let body = br#"{"stray":true}"#;
    let head = format!(
        "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: stray-id\r\n\
         lambda-runtime-deadline-ms: 9999999999999\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), &body[..]].concat().into()
}

/// Nothing was posted for the invocation that `stray_invocation` names.
fn the_stray_invocation_was_not_run(api: &FakeRuntimeApi) {
    assert!(
        api.posts_for("stray-id").is_empty(),
        "the stray invocation is not run"
    );
}

#[tokio::test]
async fn a_stray_answer_after_next_never_answers_a_later_request() {
    for stray in [Bytes::from_static(STRAY_202), stray_invocation()] {
        let (api, _runtime) = start(handler_fn(echo)).await;
        api.inject(Route::Next, Fault::StrayBytesAfter(stray));
        every_later_invocation_is_answered_once(&api, 6).await;
        the_stray_invocation_was_not_run(&api);
    }
}

#[tokio::test]
async fn with_four_workers_a_stray_answer_never_answers_a_later_request() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = lambda_kit::Runtime::from_config(tests::config_with(
        &api.address(),
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
    ))
    .expect("runtime");
    let _runtime = tokio::spawn(runtime.run_concurrent(handler_fn(echo)));
    api.wait_for_polls(4).await;
    for _ in 0..2 {
        api.inject(Route::Next, Fault::StrayBytesAfter(stray_invocation()));
    }
    every_later_invocation_is_answered_once(&api, 6).await;
    the_stray_invocation_was_not_run(&api);
}

#[tokio::test]
async fn a_stray_answer_after_a_response_never_answers_a_later_request() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(
        Route::Response,
        Fault::StrayBytesAfter(Bytes::from_static(STRAY_202)),
    );
    every_later_invocation_is_answered_once(&api, 6).await;
}

#[tokio::test]
async fn stray_bytes_that_arrive_after_the_answer_was_read_are_caught_too() {
    let api = Arc::new(FakeRuntimeApi::start().await.expect("starts"));
    let watcher = Arc::clone(&api);
    // The handler runs once the answer was read; it holds its invocation until the stray
    // bytes have been written, so they arrive while the connection is idle.
    let handler = handler_fn(move |event: Value, _: Context| {
        let api = Arc::clone(&watcher);
        async move {
            if event["n"] == 0 {
                api.wait_for_wire_faults(1).await;
            }
            Ok::<_, Error>(event)
        }
    });
    let _runtime = spawn_runtime(&api.address(), handler);
    api.inject(
        Route::Next,
        Fault::StrayBytesAfter(Bytes::from_static(STRAY_202)),
    );
    every_later_invocation_is_answered_once(&api, 6).await;
}

async fn lines(_: Value, _: Context) -> Result<StreamResponse, Error> {
    let chunks = ["one ", "two"].map(|part| Ok::<_, Error>(Bytes::from_static(part.as_bytes())));
    Ok(StreamResponse::new(
        "text/plain",
        futures_util::stream::iter(chunks),
    ))
}

#[tokio::test]
async fn a_stream_is_posted_when_the_api_closed_the_idle_connection() {
    let api = Arc::new(FakeRuntimeApi::start().await.expect("starts"));
    let watcher = Arc::clone(&api);
    // The stream is returned only once the API has closed the connection `/next` came on.
    let handler = handler_fn(move |event: Value, ctx: Context| {
        let api = Arc::clone(&watcher);
        async move {
            api.wait_for_wire_faults(1).await;
            lines(event, ctx).await
        }
    });
    let _runtime = spawn_runtime(&api.address(), handler);
    api.inject(Route::Next, Fault::CloseAfterAnswer);
    let id = api.push(json!({}));
    let answer = api.answer(&id).await;
    assert_eq!(answer.kind, AnswerKind::Response);
    assert_eq!(answer.body, "one two");
    assert_eq!(accepted(&api.posts_for(&id)).len(), 1);
}

#[tokio::test]
async fn a_buffered_answer_is_posted_when_the_api_closed_the_idle_connection() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(Route::Next, Fault::CloseAfterAnswer);
    api.inject(Route::Response, Fault::CloseAfterAnswer);
    every_later_invocation_is_answered_once(&api, 4).await;
}

/// Queues an invocation whose `/next` answer is `raw`, with `{id}` replaced by its request
/// id; returns the id. An ordinary invocation follows it, to show that the loop goes on.
fn push_raw(api: &FakeRuntimeApi, id: &str, raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw).replace("{id}", id);
    api.inject(Route::Next, Fault::RawAnswer(Bytes::from(raw.into_bytes())));
    api.push_invocation(FakeInvocation::json(&json!({})).request_id(id))
}

async fn answered_as_invalid_event(api: &FakeRuntimeApi, id: &str, cause: &str) {
    let error = api.error_answer(id).await;
    assert_eq!(error.error_type, "Runtime.InvalidEvent", "{id}");
    assert!(
        error.error_message.contains("the function did not run")
            && error.error_message.contains(cause),
        "{id}: {}",
        error.error_message
    );
    assert_eq!(accepted(&api.posts_for(id)).len(), 1, "{id}");
    let next = api.push(json!({"after": id}));
    assert_eq!(api.response_json(&next).await, json!({"after": id}));
}

#[tokio::test]
async fn an_answer_cut_short_after_its_request_id_is_answered_with_an_error() {
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "short-length",
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nContent-Length: 100\r\n\r\n{\"cut\":",
            "closed the connection",
        ),
        (
            "short-chunk",
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"cut\":",
            "closed the connection",
        ),
        (
            "short-head",
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadl",
            "closed the connection",
        ),
    ];
    let (api, _runtime) = start(handler_fn(echo)).await;
    for (id, raw, cause) in cases {
        push_raw(&api, id, raw);
        answered_as_invalid_event(&api, id, cause).await;
    }
}

#[tokio::test]
async fn a_head_httparse_refuses_is_answered_when_its_request_id_is_readable() {
    let mut many_headers = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n".to_vec();
    for n in 0..70 {
        many_headers.extend_from_slice(format!("X-Header-{n}: v\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
    let no_colon =
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nthis line has no colon\r\nContent-Length: 2\r\n\r\n{}";
    let (api, _runtime) = start(handler_fn(echo)).await;
    push_raw(&api, "many-headers", &many_headers);
    answered_as_invalid_event(&api, "many-headers", "too many headers").await;
    push_raw(&api, "no-colon", no_colon);
    answered_as_invalid_event(&api, "no-colon", "not valid HTTP/1.1").await;
}

#[tokio::test]
async fn a_request_id_that_is_not_utf8_is_answered_byte_for_byte() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    // The fake decodes the id of a post lossily, so the byte 0xFF comes back as U+FFFD.
    let raw =
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-\xff\r\nContent-Length: 2\r\n\r\n{}";
    api.inject(Route::Next, Fault::RawAnswer(Bytes::from_static(raw)));
    let id = api.push_invocation(FakeInvocation::json(&json!({})).request_id("r-\u{FFFD}"));
    answered_as_invalid_event(&api, &id, "not UTF-8").await;
    let post = &api.posts_for(&id)[0];
    assert!(
        post.path.contains("/invocation/r-%FF/error"),
        "{}",
        post.path
    );
}

#[tokio::test]
async fn a_head_over_64_kib_is_refused_even_in_one_read() {
    let mut raw = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nX-Padding: ".to_vec();
    raw.resize(raw.len() + 70 * 1024, b'a');
    raw.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
    let (api, _runtime) = start(handler_fn(echo)).await;
    push_raw(&api, "big-head", &raw);
    answered_as_invalid_event(&api, "big-head", "over 64 KiB").await;
}

#[tokio::test]
async fn bodies_over_lambdas_event_limit_are_refused_whatever_their_framing() {
    let limit = lambda_kit::protocol::MAX_EVENT_BYTES;
    let big = vec![b'a'; limit + 1];
    let declared = format!(
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {{id}}\r\nContent-Length: {}\r\n\r\n",
        limit + 1
    );
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for piece in big.chunks(1024 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut until_close =
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\r\n".to_vec();
    until_close.extend_from_slice(&big);
    let (api, _runtime) = start(handler_fn(echo)).await;
    for (id, raw) in [
        ("declared-too-large", declared.into_bytes()),
        ("chunked-too-large", chunked),
        ("close-delimited-too-large", until_close),
    ] {
        push_raw(&api, id, &raw);
        answered_as_invalid_event(&api, id, "the largest event Lambda hands out").await;
    }
}

#[tokio::test]
async fn a_response_answered_502_is_sent_once_more_on_a_new_connection() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    api.inject(
        Route::Response,
        Fault::Status(StatusCode::BAD_GATEWAY, "bad gateway".into()),
    );
    let id = api.push(json!("kept"));
    assert_eq!(api.response_json(&id).await, json!("kept"));
    let posts = api.posts_for(&id);
    assert_eq!(posts.len(), 2, "the 502 and the one resend");
    assert_eq!(posts[0].status, Some(StatusCode::BAD_GATEWAY));
}

#[tokio::test]
async fn a_second_server_error_is_logged_and_the_loop_goes_on() {
    let (api, _runtime) = start(handler_fn(echo)).await;
    for _ in 0..2 {
        api.inject(
            Route::Response,
            Fault::Status(StatusCode::SERVICE_UNAVAILABLE, "unavailable".into()),
        );
    }
    let refused = api.push(json!("refused"));
    let served = api.push(json!("served"));
    assert_eq!(api.response_json(&served).await, json!("served"));
    let posts = api.posts_for(&refused);
    assert_eq!(posts.len(), 2, "one resend, then no more");
    assert!(accepted(&posts).is_empty());
}

#[tokio::test]
async fn a_streamed_response_refused_as_too_large_is_followed_by_an_error_post() {
    let (api, _runtime) = start(handler_fn(lines)).await;
    api.set_max_response_bytes(3);
    let id = api.push(json!({}));
    let error = api.error_answer(&id).await;
    assert_eq!(error.error_type, "Function.ResponseSizeTooLarge");
    let posts = api.posts_for(&id);
    assert_eq!(posts[0].status, Some(StatusCode::PAYLOAD_TOO_LARGE));
    assert_eq!(accepted(&posts).len(), 1);
}

#[tokio::test]
async fn a_streamed_response_cut_off_is_followed_by_an_error_post() {
    let (api, _runtime) = start(handler_fn(lines)).await;
    api.inject(Route::Response, Fault::DropConnection);
    let id = api.push(json!({}));
    let error = api.error_answer(&id).await;
    assert_eq!(error.error_type, "Runtime.ResponseStreamInterrupted");
    let next = api.push(json!({}));
    assert_eq!(api.answer(&next).await.body, "one two");
}
