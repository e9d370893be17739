//! The `sse` example, checked on the built bootstrap under the fake Runtime API: events
//! leave the function as they are produced, after a function URL's streaming prelude.

use lambda_kit::testing::FakeRuntimeApi;
use serde_json::{Value, json};
use tokio::process::Command;

/// A function URL request for `GET path` with `query`.
fn function_url(path: &str, query: &[(&str, &str)]) -> Value {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/function-url.json");
    let mut event: Value =
        serde_json::from_slice(&std::fs::read(fixture).expect("fixture exists")).expect("JSON");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["rawQueryString"] = json!(
        query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    event["queryStringParameters"] = query
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    event
}

async fn serve() -> (FakeRuntimeApi, tokio::process::Child) {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_sse")))
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    (api, child)
}

#[tokio::test]
async fn the_first_event_arrives_while_the_function_waits_to_send_the_second() {
    let (api, _child) = serve().await;
    // A minute between events: the first can only be seen this early if it was streamed.
    let id = api.push(function_url(
        "/events",
        &[("count", "2"), ("interval_ms", "60000")],
    ));
    let arrived = api.wait_for_chunks(&id, 3).await;
    let prelude: Value = serde_json::from_slice(&arrived[0]).expect("prelude JSON");
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(prelude["headers"]["content-type"], "text/event-stream");
    assert_eq!(arrived[2], "event: tick\ndata: 1\n\n");
    assert!(api.posts_for(&id).is_empty(), "the stream is still open");
}

#[tokio::test]
async fn every_event_then_done() {
    let (api, _child) = serve().await;
    let id = api.push(function_url(
        "/events",
        &[("count", "3"), ("interval_ms", "0")],
    ));
    let answer = api.answer(&id).await;
    assert_eq!(
        answer.headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    let body = String::from_utf8_lossy(&answer.chunks[2..].concat()).into_owned();
    assert_eq!(
        body,
        "event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\nevent: tick\ndata: 3\n\nevent: done\ndata: 3\n\n"
    );
}

#[tokio::test]
async fn the_page_subscribes_with_event_source() {
    let (api, _child) = serve().await;
    let id = api.push(function_url("/", &[]));
    let answer = api.answer(&id).await;
    let prelude: Value = serde_json::from_slice(&answer.chunks[0]).expect("prelude JSON");
    assert_eq!(
        prelude["headers"]["content-type"],
        "text/html; charset=utf-8"
    );
    let page = String::from_utf8_lossy(&answer.chunks[2..].concat()).into_owned();
    assert!(page.contains("new EventSource(\"events\""), "{page}");
}
