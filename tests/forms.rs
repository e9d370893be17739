//! Every `#[lambda_kit::handler]` form, built as a bootstrap and run against the fake
//! Runtime API.

use lambda_kit::testing::FakeRuntimeApi;
use serde_json::json;
use tokio::process::{Child, Command};

fn spawn(api: &FakeRuntimeApi, program: &str) -> Child {
    Command::from(api.bootstrap_command(program))
        .kill_on_drop(true)
        .spawn()
        .expect("the bootstrap starts")
}

#[tokio::test]
async fn event_only_with_a_unit_response_and_a_diagnostic_error() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-event-only"));
    let ok = api.push(json!({}));
    assert_eq!(api.response_json(&ok).await, serde_json::Value::Null);
    let refused = api.push(json!({"refuse": "o-7"}));
    let answer = api.answer(&refused).await;
    assert_eq!(
        answer.headers["lambda-runtime-function-error-type"],
        "Order.Refused"
    );
    let error = api.error_answer(&refused).await;
    assert_eq!(error.error_type, "Order.Refused");
    assert_eq!(error.error_message, "order o-7 refused");
}

#[tokio::test]
async fn owned_context_on_the_multi_thread_flavor_with_layers() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-context-owned"));
    let id = api.push(json!({}));
    assert_eq!(
        api.response_json(&id).await,
        json!({"outer": {"inner": {"requestId": id, "flavor": "MultiThread"}}})
    );
}

#[tokio::test]
async fn borrowed_context_on_the_current_thread_flavor() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-context-borrowed"));
    for n in 0..3 {
        let id = api.push(json!({"n": n}));
        assert_eq!(
            api.response_json(&id).await,
            json!({"requestId": id, "event": {"n": n}, "flavor": "CurrentThread"})
        );
    }
}

#[tokio::test]
async fn a_plain_init_fn_runs_once() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let mut command = Command::from(api.bootstrap_command(env!("CARGO_BIN_EXE_form-init-sync")));
    let _child = command
        .env("GREETING", "Ahoy")
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    for name in ["Ada", "Grace", "Edsger"] {
        let id = api.push(json!({ "name": name }));
        assert_eq!(
            api.response_json(&id).await,
            json!({"message": format!("Ahoy, {name}!"), "setups": 1})
        );
    }
}

#[tokio::test]
async fn a_failing_init_fn_is_posted_and_the_process_exits_without_polling() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let status = spawn(&api, env!("CARGO_BIN_EXE_form-init-fails"))
        .wait()
        .await
        .expect("exits");
    assert_eq!(status.code(), Some(1));
    let post = api.init_error().await;
    tests::assert_error_post(
        &post.headers,
        &post.body,
        "DatabaseUrlMissing",
        "DATABASE_URL is not set",
    );
    assert_eq!(api.polls(), 0);
}

#[tokio::test]
async fn an_http_handler_fn_with_state() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-http"));
    let event = lambda_kit::testing::events::api_gateway_v2("get", "/hello").build();
    let id = api.push(&event);
    let response = api.response_json(&id).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"], "Hello from /hello");
    assert_eq!(response["headers"]["x-request-id"], id.as_str());
}

#[tokio::test]
async fn a_sequential_handler_may_hold_what_is_not_send() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-sequential"));
    let id = api.push(json!({"n": 1}));
    assert_eq!(
        api.response_json(&id).await,
        json!({"echo": {"n": 1}, "holders": 1})
    );
}

#[tokio::test]
async fn an_http_fn_without_parameters_serves_the_service_it_returns() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-http-service"));
    let event = lambda_kit::testing::events::api_gateway_v2("GET", "/orders").build();
    let id = api.push(event);
    let response = api.response_json(&id).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"], "served /orders");
}

#[tokio::test]
async fn an_http_streaming_fn_streams_its_body_after_the_prelude() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let _child = spawn(&api, env!("CARGO_BIN_EXE_form-http-streaming"));
    let event: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/function-url.json")).expect("parses");
    let id = api.push(event);
    let answer = api.answer(&id).await;
    assert_eq!(
        answer.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    let prelude: serde_json::Value = serde_json::from_slice(&answer.chunks[0]).expect("JSON");
    assert_eq!(
        prelude,
        json!({"statusCode": 200, "headers": {"content-type": "text/plain"}, "cookies": []})
    );
    assert_eq!(
        &answer.chunks[2..],
        ["/widgets 1\n", "/widgets 2\n", "/widgets 3\n"]
    );
}
