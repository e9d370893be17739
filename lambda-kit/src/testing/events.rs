//! Builders for common test events, producing the typed events of [`crate::events`], so that
//! a handler test is three lines:
//!
//! ```
//! # #[cfg(feature = "sqs")] {
//! let event = lambda_kit::testing::events::sqs_batch(["order 1", "order 2"]);
//! assert_eq!(event.records.len(), 2);
//! # }
//! ```
//!
//! Each builder writes the event in the shape AWS documents for its source, then decodes it
//! into the typed event the way the runtime would, so a test exercises the real decoding.
//! Each needs the cargo feature of its event source.

#[cfg(any(feature = "apigw", feature = "alb"))]
use std::collections::BTreeMap;

#[cfg(any(
    feature = "sqs",
    feature = "s3",
    feature = "eventbridge",
    feature = "apigw",
    feature = "alb"
))]
use serde_json::{Value, json};

/// Decodes a documented event shape into its typed event.
#[cfg(any(
    feature = "sqs",
    feature = "s3",
    feature = "eventbridge",
    feature = "apigw",
    feature = "alb"
))]
fn typed<T: serde::de::DeserializeOwned>(shape: Value) -> T {
    crate::drive::decode_event(&serde_json::to_vec(&shape).expect("JSON values serialize"))
        .unwrap_or_else(|error| panic!("a builder produced an event that does not decode: {error}"))
}

/// An SQS batch with one message per body, as a standard queue delivers it.
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
pub fn sqs_batch<B: Into<String>>(
    bodies: impl IntoIterator<Item = B>,
) -> crate::events::sqs::SqsEvent {
    let records: Vec<Value> = bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            json!({
                "messageId": uuid::Uuid::new_v4().to_string(),
                "receiptHandle": format!("receipt-{index}"),
                "body": body.into(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1763800000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1763800000001"
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test-queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    typed(json!({ "Records": records }))
}

/// An S3 `ObjectCreated:Put` notification for one object.
#[cfg(feature = "s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "s3")))]
pub fn s3_put(bucket: &str, key: &str, size: u64) -> crate::events::s3::S3Event {
    typed(json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-22T10:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.10"},
            "responseElements": {"x-amz-request-id": "EXAMPLE123", "x-amz-id-2": "EXAMPLE456"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "test-notification",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": {"principalId": "EXAMPLE"},
                    "arn": format!("arn:aws:s3:::{bucket}")
                },
                "object": {"key": key, "size": size, "eTag": "0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"}
            }
        }]
    }))
}

/// An EventBridge `Scheduled Event`, as a schedule rule sends it.
#[cfg(feature = "eventbridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "eventbridge")))]
pub fn eventbridge_scheduled(rule_name: &str) -> crate::events::eventbridge::EventBridgeEvent {
    typed(json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-22T10:00:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule_name}")],
        "detail": {}
    }))
}

/// Builds an HTTP API (API Gateway v2, payload format 2.0) request.
#[cfg(feature = "apigw")]
#[cfg_attr(docsrs, doc(cfg(feature = "apigw")))]
#[derive(Debug, Clone)]
pub struct ApiGatewayV2Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    cookies: Vec<String>,
    body: Option<String>,
}

/// An HTTP API request for `method` and `path` (add headers, query and body, then `build`).
#[cfg(feature = "apigw")]
#[cfg_attr(docsrs, doc(cfg(feature = "apigw")))]
pub fn api_gateway_v2(method: &str, path: &str) -> ApiGatewayV2Request {
    ApiGatewayV2Request {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        headers: BTreeMap::new(),
        query: BTreeMap::new(),
        cookies: Vec::new(),
        body: None,
    }
}

#[cfg(feature = "apigw")]
impl ApiGatewayV2Request {
    /// Adds a header (names are lower-cased, as API Gateway delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), value.to_owned());
        self
    }

    /// Adds a query-string parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Adds a cookie (`name=value`).
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookies.push(cookie.to_owned());
        self
    }

    /// Sets a text body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The typed event.
    pub fn build(self) -> crate::events::apigw::ApiGatewayV2httpRequest {
        let raw_query = self
            .query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&");
        typed(json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "cookies": self.cookies,
            "headers": self.headers,
            "queryStringParameters": self.query,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api-id",
                "domainName": "api-id.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "api-id",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.10",
                    "userAgent": "lambda-kit-test"
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": "22/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1763805600000u64
            },
            "body": self.body,
            "isBase64Encoded": false
        }))
    }
}

/// Builds an Application Load Balancer request (single-value headers).
#[cfg(feature = "alb")]
#[cfg_attr(docsrs, doc(cfg(feature = "alb")))]
#[derive(Debug, Clone)]
pub struct AlbRequest {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    body: String,
}

/// An ALB request for `method` and `path` (add headers, query and body, then `build`).
#[cfg(feature = "alb")]
#[cfg_attr(docsrs, doc(cfg(feature = "alb")))]
pub fn alb(method: &str, path: &str) -> AlbRequest {
    AlbRequest {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        headers: BTreeMap::new(),
        query: BTreeMap::new(),
        body: String::new(),
    }
}

#[cfg(feature = "alb")]
impl AlbRequest {
    /// Adds a header (names are lower-cased, as the load balancer delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), value.to_owned());
        self
    }

    /// Adds a query-string parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets a text body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The typed event.
    pub fn build(self) -> crate::events::alb::AlbTargetGroupRequest {
        typed(json!({
            "requestContext": {
                "elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/test/0123456789abcdef"}
            },
            "httpMethod": self.method,
            "path": self.path,
            "queryStringParameters": self.query,
            "headers": self.headers,
            "body": self.body,
            "isBase64Encoded": false
        }))
    }
}
