//! The `http-api` contract, checked on the built bootstrap: for any method and path, 200 with
//! JSON, `x-echo: 1`, the cookie `seen=1`, and an echo of method, path, first query values
//! and body, in each integration's response shape.

use lambda_kit::testing::{FakeRuntimeApi, events};
use serde_json::{Value, json};
use tokio::process::Command;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture exists")).expect("fixture parses")
}

async fn serve() -> (FakeRuntimeApi, tokio::process::Child) {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let child = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_http-api")))
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    (api, child)
}

fn echoed(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("text body")).expect("JSON body")
}

#[tokio::test]
async fn http_api_requests() {
    let (api, _child) = serve().await;
    let event = events::api_gateway_v2("post", "/orders/7")
        .query("page", "2")
        .body("hello")
        .build();
    let id = api.push(&event);
    let response = api.response_json(&id).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(response["headers"]["x-echo"], "1");
    assert_eq!(response["cookies"], json!(["seen=1"]));
    assert_eq!(
        echoed(&response),
        json!({"method": "POST", "path": "/orders/7", "query": {"page": "2"}, "body": "hello"})
    );
}

#[tokio::test]
async fn rest_api_requests_with_a_base64_body() {
    let (api, _child) = serve().await;
    let mut event = fixture("apigw-v1.json");
    event["body"] = json!("cXVhbnRpdHk9Mw==");
    event["isBase64Encoded"] = json!(true);
    let id = api.push(&event);
    let response = api.response_json(&id).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(
        response["multiValueHeaders"]["set-cookie"],
        json!(["seen=1"])
    );
    assert_eq!(response["multiValueHeaders"]["x-echo"], json!(["1"]));
    assert_eq!(
        echoed(&response),
        json!({"method": "PUT", "path": "/orders/42", "query": {"expand": "items", "tag": "a"}, "body": "quantity=3"})
    );
}

#[tokio::test]
async fn load_balancer_requests() {
    let (api, _child) = serve().await;
    let id = api.push(fixture("alb.json"));
    let response = api.response_json(&id).await;
    assert_eq!(response["statusDescription"], "200 OK");
    assert_eq!(response["headers"]["set-cookie"], "seen=1");
    assert_eq!(
        echoed(&response),
        json!({"method": "GET", "path": "/health", "query": {"verbose": "1"}, "body": ""})
    );
}
