//! Streamed responses: chunked posts, the HTTP prelude, and real error trailers.

use base64::Engine as _;
use bytes::Bytes;
use lambda_kit::streaming::{HttpStreamResponse, StreamResponse};
use lambda_kit::testing::AnswerKind;
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};
use tests::start;

fn chunks(parts: &[&'static str]) -> Vec<Result<Bytes, Error>> {
    parts
        .iter()
        .map(|part| Ok(Bytes::from_static(part.as_bytes())))
        .collect()
}

async fn raw(_: Value, _: Context) -> Result<StreamResponse, Error> {
    Ok(StreamResponse::new(
        "text/plain",
        futures_util::stream::iter(chunks(&["one ", "two ", "three"])),
    ))
}

#[tokio::test]
async fn a_stream_is_posted_in_chunks_in_streaming_mode() {
    let (api, _runtime) = start(handler_fn(raw)).await;
    let id = api.push(json!({}));
    let answer = api.answer(&id).await;
    assert_eq!(answer.kind, AnswerKind::Response);
    assert_eq!(
        answer.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.headers["transfer-encoding"], "chunked");
    assert_eq!(
        answer.headers["trailer"],
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    );
    assert_eq!(answer.chunks, ["one ", "two ", "three"]);
    assert_eq!(answer.body, "one two three");
    assert!(answer.trailers.is_none_or(|trailers| trailers.is_empty()));
}

async fn fails_midway(_: Value, _: Context) -> Result<StreamResponse, Error> {
    let parts = vec![
        Ok(Bytes::from_static(b"partial ")),
        Err(Error::new("Export.SourceGone", "the source table vanished")),
        Ok(Bytes::from_static(b"never sent")),
    ];
    Ok(StreamResponse::new(
        "text/csv",
        futures_util::stream::iter(parts),
    ))
}

#[tokio::test]
async fn an_error_part_way_is_sent_in_real_trailers() {
    let (api, _runtime) = start(handler_fn(fails_midway)).await;
    let id = api.push(json!({}));
    let answer = api.answer(&id).await;
    assert_eq!(
        answer.body, "partial ",
        "the error is not written into the body"
    );
    let trailers = answer.trailers.expect("trailers");
    assert_eq!(
        trailers["lambda-runtime-function-error-type"],
        "Export.SourceGone"
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(trailers["lambda-runtime-function-error-body"].as_bytes())
        .expect("base64");
    let body: Value = serde_json::from_slice(&decoded).expect("error JSON");
    assert_eq!(
        body,
        json!({"errorType": "Export.SourceGone", "errorMessage": "the source table vanished"})
    );
    // The loop goes on.
    let next = api.push(json!({}));
    assert_eq!(api.answer(&next).await.body, "partial ");
}

async fn http_stream(_: Value, _: Context) -> Result<HttpStreamResponse, Error> {
    Ok(HttpStreamResponse::new(futures_util::stream::iter(chunks(&[
        "<p>", "hello", "</p>",
    ])))
    .status(201)
    .header("Content-Type", "text/html")
    .header("Set-Cookie", "seen=1"))
}

#[tokio::test]
async fn an_http_stream_sends_its_prelude_and_separator_as_chunks_of_their_own() {
    let (api, _runtime) = start(handler_fn(http_stream)).await;
    let id = api.push(json!({}));
    let answer = api.answer(&id).await;
    assert_eq!(
        answer.headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude JSON");
    assert_eq!(
        prelude,
        json!({"statusCode": 201, "headers": {"content-type": "text/html"}, "cookies": ["seen=1"]})
    );
    assert_eq!(answer.chunks[1], Bytes::from_static(&[0u8; 8]));
    assert_eq!(&answer.chunks[2..], ["<p>", "hello", "</p>"]);
}

async fn no_cookies(_: Value, _: Context) -> Result<HttpStreamResponse, Error> {
    Ok(HttpStreamResponse::new(futures_util::stream::iter(Vec::<
        Result<Bytes, Error>,
    >::new(
    ))))
}

#[tokio::test]
async fn an_empty_http_stream_still_sends_its_prelude_with_cookies() {
    let (api, _runtime) = start(handler_fn(no_cookies)).await;
    let id = api.push(json!({}));
    let answer = api.answer(&id).await;
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude JSON");
    assert_eq!(
        prelude,
        json!({"statusCode": 200, "headers": {}, "cookies": []})
    );
    assert_eq!(answer.chunks.len(), 2);
}

async fn buffered(_: Value, _: Context) -> Result<Value, Error> {
    Ok(json!("whole"))
}

#[tokio::test]
async fn buffered_responses_never_send_the_response_mode_header() {
    let (api, _runtime) = start(handler_fn(buffered)).await;
    let id = api.push(json!({}));
    let answer = api.answer(&id).await;
    assert!(
        !answer
            .headers
            .contains_key("lambda-runtime-function-response-mode")
    );
    assert!(!answer.headers.contains_key("trailer"));
}

#[tokio::test]
async fn the_testing_kit_reads_a_stream_to_its_end() {
    let outcome = lambda_kit::testing::invoke(handler_fn(raw), json!({})).await;
    assert_eq!(outcome.expect_response(), json!("one two three"));
    let failed = lambda_kit::testing::invoke(handler_fn(fails_midway), json!({})).await;
    assert_eq!(failed.expect_error().error_type, "Export.SourceGone");
}
