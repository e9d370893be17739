//! Handlers as tower services: layers wrap them, and typed events decode into them.

use super::test_events::sqs_bodies;
use lambda_kit::testing::FakeRuntimeApi;
use lambda_kit::tower::util::{MapRequestLayer, MapResponseLayer};
use lambda_kit::{Context, Error, LambdaEvent, Runtime, handler_fn};
use serde_json::{Value, json};
use tests::config_for;

async fn echo(event: Value, _: Context) -> Result<Value, Error> {
    Ok(event)
}

#[tokio::test]
async fn layers_wrap_the_handler_outermost_first() {
    let api = FakeRuntimeApi::start().await.expect("starts");
    let runtime = Runtime::from_config(config_for(&api.address()))
        .expect("runtime")
        .layer(MapResponseLayer::new(
            |response: Value| json!({"outer": response}),
        ))
        .layer(MapRequestLayer::new(|mut event: LambdaEvent<Value>| {
            event.payload = json!({"seen_by_inner_layer": event.payload});
            event
        }));
    let _loop = tokio::spawn(runtime.run(handler_fn(echo)));
    let id = api.push(json!(1));
    assert_eq!(
        api.response_json(&id).await,
        json!({"outer": {"seen_by_inner_layer": 1}})
    );
}

#[tokio::test]
async fn typed_events_decode_from_the_documented_shape() {
    let (api, _runtime) = tests::start(handler_fn(sqs_bodies)).await;
    let event = json!({
        "Records": [
            {
                "messageId": "4c1a7f5e-0000-4000-8000-000000000001",
                "receiptHandle": "handle-1",
                "body": "first order",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1763800000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1763800000001"
                },
                "messageAttributes": {},
                "md5OfBody": "0f3c1b1a5d1e4d8f9a0b1c2d3e4f5a6b",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1"
            },
            {
                "messageId": "4c1a7f5e-0000-4000-8000-000000000002",
                "receiptHandle": "handle-2",
                "body": "second order",
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1"
            }
        ]
    });
    let id = api.push(event);
    assert_eq!(
        api.response_json(&id).await,
        json!(["first order", "second order"])
    );
}
