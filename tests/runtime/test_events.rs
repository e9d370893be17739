//! The testing kit's event builders produce events the runtime decodes into the typed
//! events, so a handler test is three lines.

use lambda_kit::events::alb::AlbTargetGroupRequest;
use lambda_kit::events::apigw::ApiGatewayV2httpRequest;
use lambda_kit::events::eventbridge::EventBridgeEvent;
use lambda_kit::events::s3::S3Event;
use lambda_kit::events::sqs::SqsEvent;
use lambda_kit::testing::{self, events};
use lambda_kit::{Context, Error, handler_fn};
use serde_json::{Value, json};

/// The bodies of an SQS batch's messages, in order.
pub(crate) async fn sqs_bodies(event: SqsEvent, _: Context) -> Result<Vec<String>, Error> {
    Ok(event
        .records
        .into_iter()
        .filter_map(|record| record.body)
        .collect())
}

#[tokio::test]
async fn an_sqs_batch_in_three_lines() {
    let event = events::sqs_batch(["order 1", "order 2"]);
    let outcome = testing::invoke(handler_fn(sqs_bodies), event).await;
    assert_eq!(outcome.expect_response(), json!(["order 1", "order 2"]));
}

async fn s3_keys(event: S3Event, _: Context) -> Result<Value, Error> {
    let record = &event.records[0];
    Ok(json!([
        record.s3.bucket.name,
        record.s3.object.key,
        record.s3.object.size,
        record.event_name
    ]))
}

#[tokio::test]
async fn an_s3_put() {
    let outcome = testing::invoke(
        handler_fn(s3_keys),
        events::s3_put("uploads", "a/b.csv", 42),
    )
    .await;
    assert_eq!(
        outcome.expect_response(),
        json!(["uploads", "a/b.csv", 42, "ObjectCreated:Put"])
    );
}

async fn schedule(event: EventBridgeEvent, _: Context) -> Result<Value, Error> {
    Ok(json!([event.detail_type, event.source, event.resources]))
}

#[tokio::test]
async fn an_eventbridge_schedule() {
    let outcome = testing::invoke(
        handler_fn(schedule),
        events::eventbridge_scheduled("nightly"),
    )
    .await;
    assert_eq!(
        outcome.expect_response(),
        json!([
            "Scheduled Event",
            "aws.events",
            ["arn:aws:events:us-east-1:123456789012:rule/nightly"]
        ])
    );
}

async fn http_v2(event: ApiGatewayV2httpRequest, _: Context) -> Result<Value, Error> {
    Ok(json!({
        "method": event.request_context.http.method.as_str(),
        "path": event.raw_path,
        "query": event.raw_query_string,
        "header": event.headers.get("x-tenant").and_then(|v| v.to_str().ok()),
        "cookies": event.cookies,
        "body": event.body,
    }))
}

#[tokio::test]
async fn an_http_api_request() {
    let event = events::api_gateway_v2("post", "/orders")
        .header("X-Tenant", "acme")
        .query("page", "2")
        .cookie("session=1")
        .body(r#"{"item":"pear"}"#)
        .build();
    let outcome = testing::invoke(handler_fn(http_v2), event).await;
    assert_eq!(
        outcome.expect_response(),
        json!({"method": "POST", "path": "/orders", "query": "page=2", "header": "acme", "cookies": ["session=1"], "body": "{\"item\":\"pear\"}"})
    );
}

async fn alb_request(event: AlbTargetGroupRequest, _: Context) -> Result<Value, Error> {
    Ok(json!([
        event.http_method.as_str(),
        event.path,
        event.query_string_parameters.first("q"),
        event.body
    ]))
}

#[tokio::test]
async fn an_alb_request() {
    let event = events::alb("get", "/health")
        .query("q", "deep")
        .body("")
        .build();
    let outcome = testing::invoke(handler_fn(alb_request), event).await;
    assert_eq!(
        outcome.expect_response(),
        json!(["GET", "/health", "deep", ""])
    );
}
