//! The `/next` headers reach the handler's `Context`, and the invocation id is echoed.

use base64::Engine as _;
use lambda_kit::testing::{FakeInvocation, Route};
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};
use tests::start;

async fn describe(_: Value, ctx: Context) -> Result<Value, Error> {
    Ok(json!({
        "requestId": ctx.request_id(),
        "arn": ctx.invoked_function_arn(),
        "deadlineKnown": ctx.deadline_known(),
        "remainingAbove800s": ctx.remaining_time().as_secs() > 800,
        "trace": ctx.xray_trace_id(),
        "clientCustom": ctx.client_context().map(|c| c.custom.clone()),
        "identity": ctx.identity().map(|i| i.identity_pool_id.clone()),
        "tenant": ctx.tenant_id(),
        "functionName": ctx.config().function_name(),
    }))
}

async fn fail(_: Value, _: Context) -> Result<Value, Error> {
    Err(Error::new("Test.Failure", "failed"))
}

#[tokio::test]
async fn every_header_reaches_the_context() {
    let (api, _runtime) = start(handler_fn(describe)).await;
    let invocation = FakeInvocation::json(&json!({}))
        .request_id("req-42")
        .header(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:1:function:f:live",
        )
        .header(
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .header("lambda-runtime-client-context", r#"{"custom":{"k":"v"}}"#)
        .header(
            "lambda-runtime-cognito-identity",
            r#"{"cognitoIdentityId":"i","cognitoIdentityPoolId":"pool"}"#,
        )
        .header("lambda-runtime-aws-tenant-id", "tenant-9");
    let id = api.push_invocation(invocation);
    let seen = api.response_json(&id).await;
    assert_eq!(seen["requestId"], "req-42");
    assert_eq!(seen["arn"], "arn:aws:lambda:eu-west-1:1:function:f:live");
    assert_eq!(seen["deadlineKnown"], true);
    assert_eq!(seen["remainingAbove800s"], false);
    assert_eq!(
        seen["trace"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    );
    assert_eq!(seen["clientCustom"], json!({"k": "v"}));
    assert_eq!(seen["identity"], "pool");
    assert_eq!(seen["tenant"], "tenant-9");
}

#[tokio::test]
async fn emulator_quirks_are_tolerated() {
    let (api, _runtime) = start(handler_fn(describe)).await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"k":"b64"}}"#);
    let invocation = FakeInvocation::json(&json!({}))
        .header("lambda-runtime-deadline-ms", "600000")
        .header("lambda-runtime-invoked-function-arn", "function-arn")
        .header("lambda-runtime-client-context", &encoded);
    let id = api.push_invocation(invocation);
    let seen = api.response_json(&id).await;
    assert_eq!(seen["deadlineKnown"], false);
    assert_eq!(
        seen["remainingAbove800s"], true,
        "an absurd deadline is not an expired one"
    );
    assert_eq!(seen["clientCustom"], json!({"k": "b64"}));
}

#[tokio::test]
async fn malformed_optional_headers_do_not_cost_the_invocation() {
    let (api, _runtime) = start(handler_fn(describe)).await;
    let invocation = FakeInvocation::json(&json!({}))
        .header("lambda-runtime-deadline-ms", "soon")
        .header("lambda-runtime-trace-id", "garbage;;;=")
        .header("lambda-runtime-client-context", "{not json")
        .header("lambda-runtime-cognito-identity", "[]")
        .without_header("lambda-runtime-invoked-function-arn");
    let id = api.push_invocation(invocation);
    let seen = api.response_json(&id).await;
    assert_eq!(seen["deadlineKnown"], false);
    assert_eq!(seen["clientCustom"], Value::Null);
    assert_eq!(seen["identity"], Value::Null);
    assert_eq!(seen["arn"], "");
    assert_eq!(seen["trace"], "garbage;;;=");
}

#[tokio::test]
async fn the_invocation_id_is_echoed_on_responses_and_errors() {
    let (api, _runtime) = start(handler_fn(describe)).await;
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-invocation-id", "nonce-1"),
    );
    let answer = api.answer(&id).await;
    assert_eq!(answer.headers["lambda-runtime-invocation-id"], "nonce-1");
    let without = api.push(json!({}));
    assert!(
        !api.answer(&without)
            .await
            .headers
            .contains_key("lambda-runtime-invocation-id")
    );

    let (api, _runtime) = start(handler_fn(fail)).await;
    let id = api.push_invocation(
        FakeInvocation::json(&json!({})).header("lambda-runtime-invocation-id", "nonce-2"),
    );
    let answer = api.answer(&id).await;
    assert_eq!(answer.headers["lambda-runtime-invocation-id"], "nonce-2");
    assert_eq!(
        answer.headers["lambda-runtime-function-error-type"],
        "Test.Failure"
    );
    assert!(
        api.calls()
            .iter()
            .all(|call| call.route != Route::InitError)
    );
}

#[tokio::test]
async fn the_runtime_identifies_itself() {
    let (api, _runtime) = start(handler_fn(describe)).await;
    let id = api.push(json!({}));
    api.answer(&id).await;
    for call in api.calls() {
        let agent = call.headers["user-agent"].to_str().expect("ASCII");
        assert!(agent.starts_with("lambda-kit/"), "{agent}");
    }
}
