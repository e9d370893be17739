//! `http::streaming_service`: an HTTP service's body streamed through the runtime, in the
//! prelude of the integration that sent the request.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use ::http::{Request, Response};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use lambda_kit::http::{Body, streaming_service};
use lambda_kit::testing::AnswerKind;
use lambda_kit::tower::service_fn;
use serde_json::{Value, json};
use tests::start;
use tokio::sync::oneshot;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture exists")).expect("fixture parses")
}

type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// A body that sends `first`, then waits for `release` before it sends `second` and ends.
fn held_body(
    release: oneshot::Receiver<()>,
) -> StreamBody<futures_util::stream::BoxStream<'static, Chunk>> {
    let first = futures_util::stream::once(async { Ok(Frame::data(Bytes::from("data: 1\n\n"))) });
    let second = futures_util::stream::once(async move {
        let _ = release.await;
        Ok(Frame::data(Bytes::from("data: 2\n\n")))
    });
    StreamBody::new(first.chain(second).boxed())
}

#[tokio::test]
async fn a_function_url_stream_reaches_the_api_before_the_handler_has_finished() {
    let (release, held) = oneshot::channel();
    let held = Arc::new(Mutex::new(Some(held)));
    let events = service_fn(move |_request: Request<Body>| {
        let held = held.lock().expect("unpoisoned").take();
        async move {
            let body = held_body(held.expect("one request"));
            let response = Response::builder()
                .header("content-type", "text/event-stream")
                .header("set-cookie", "session=1")
                .body(body)
                .expect("a response");
            Ok::<_, Infallible>(response)
        }
    });
    let (api, _runtime) = start(streaming_service(events)).await;
    let id = api.push(fixture("function-url.json"));
    // The prelude, the separator and the first event, while the handler still holds the
    // second: the body is posted as it is produced.
    let arrived = api.wait_for_chunks(&id, 3).await;
    let prelude: Value = serde_json::from_slice(&arrived[0]).expect("prelude JSON");
    assert_eq!(
        prelude,
        json!({
            "statusCode": 200,
            "headers": {"content-type": "text/event-stream"},
            "cookies": ["session=1"]
        })
    );
    assert_eq!(arrived[1], Bytes::from_static(&[0u8; 8]));
    assert_eq!(arrived[2], "data: 1\n\n");
    assert!(api.posts_for(&id).is_empty(), "the post is still under way");
    release.send(()).expect("the handler waits");
    let answer = api.answer(&id).await;
    assert_eq!(answer.kind, AnswerKind::Response);
    assert_eq!(
        answer.headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    assert_eq!(
        answer.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    assert_eq!(&answer.chunks[2..], ["data: 1\n\n", "data: 2\n\n"]);
}

#[tokio::test]
async fn a_rest_api_stream_carries_repeated_headers_as_multi_value_headers() {
    let tagged = service_fn(|_request: Request<Body>| async {
        let response = Response::builder()
            .status(201)
            .header("content-type", "text/plain")
            .header("x-tag", "a")
            .header("x-tag", "b")
            .header("set-cookie", "one=1")
            .header("set-cookie", "two=2")
            .body(Full::new(Bytes::from("made")))
            .expect("a response");
        Ok::<_, Infallible>(response)
    });
    let (api, _runtime) = start(streaming_service(tagged)).await;
    let id = api.push(fixture("apigw-v1.json"));
    let answer = api.answer(&id).await;
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude JSON");
    assert_eq!(
        prelude,
        json!({
            "statusCode": 201,
            "headers": {"content-type": "text/plain"},
            "multiValueHeaders": {"x-tag": ["a", "b"]},
            "cookies": ["one=1", "two=2"]
        })
    );
    assert_eq!(&answer.chunks[2..], ["made"]);
}

#[tokio::test]
async fn a_function_url_stream_joins_repeated_headers() {
    let tagged = service_fn(|_request: Request<Body>| async {
        let response = Response::builder()
            .header("x-tag", "a")
            .header("x-tag", "b")
            .body(Full::new(Bytes::from("made")))
            .expect("a response");
        Ok::<_, Infallible>(response)
    });
    let (api, _runtime) = start(streaming_service(tagged)).await;
    let id = api.push(fixture("function-url.json"));
    let answer = api.answer(&id).await;
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude JSON");
    assert_eq!(
        prelude,
        json!({"statusCode": 200, "headers": {"x-tag": "a,b"}, "cookies": []})
    );
}

#[tokio::test]
async fn a_body_that_fails_part_way_ends_the_stream_with_error_trailers() {
    let failing = service_fn(|_request: Request<Body>| async {
        let frames: Vec<Chunk> = vec![
            Ok(Frame::data(Bytes::from("partial"))),
            Err(std::io::Error::other("the upstream closed")),
        ];
        let body = StreamBody::new(futures_util::stream::iter(frames));
        Ok::<_, Infallible>(Response::new(body))
    });
    let (api, _runtime) = start(streaming_service(failing)).await;
    let id = api.push(fixture("function-url.json"));
    let answer = api.answer(&id).await;
    assert_eq!(&answer.chunks[2..], ["partial"]);
    let trailers = answer.trailers.expect("error trailers");
    assert_eq!(
        trailers["lambda-runtime-function-error-type"],
        "Http.ResponseBody"
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(trailers["lambda-runtime-function-error-body"].as_bytes())
        .expect("base64");
    let body: Value = serde_json::from_slice(&decoded).expect("error JSON");
    assert!(
        body["errorMessage"]
            .as_str()
            .is_some_and(|message| message.contains("the upstream closed")),
        "{body}"
    );
    // The loop goes on.
    let next = api.push(fixture("function-url.json"));
    assert_eq!(api.answer(&next).await.kind, AnswerKind::Response);
}

#[tokio::test]
async fn integrations_that_never_stream_are_answered_buffered_in_their_shape() {
    let hello = service_fn(|_request: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("Hello!"))))
    });
    let (api, _runtime) = start(streaming_service(hello)).await;
    for fixture_name in ["apigw-v2.json", "alb.json", "websocket.json"] {
        let id = api.push(fixture(fixture_name));
        let answer = api.answer(&id).await;
        assert!(
            !answer
                .headers
                .contains_key("lambda-runtime-function-response-mode"),
            "{fixture_name} is answered buffered"
        );
        let response: Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(response["statusCode"], 200, "{fixture_name}");
        assert_eq!(response["body"], "Hello!", "{fixture_name}");
    }
}
