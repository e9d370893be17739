//! The idempotency key of one event: canonical JSON plus SHA-256 of a whole API Gateway
//! event, a JMESPath selection inside its JSON body followed by the hash, and a plain path
//! of field names followed by the hash.
//!
//! ```sh
//! cargo bench -p lambda-kit-idempotency --bench key_hashing
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_kit_idempotency::{Selection, hash_value};
use serde_json::{Value, json};

/// An HTTP API (v2) request of the usual size, with a JSON body holding the order.
fn api_event() -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {"method": "POST", "path": "/orders", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "POST /orders",
            "stage": "$default",
            "time": "22/Nov/2026:19:03:58 +0000",
            "timeEpoch": 1795374238000_u64
        },
        "body": "{\"order_id\":\"o-12345\",\"amount\":12.5,\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}]}",
        "isBase64Encoded": false
    })
}

fn benchmarks(c: &mut Criterion) {
    let event = api_event();
    c.bench_function(
        "idempotency key: whole API Gateway event, canonical JSON + SHA-256",
        |b| b.iter(|| hash_value(std::hint::black_box(&event))),
    );
    let selection =
        Selection::jmespath("powertools_json(body).order_id").expect("the expression compiles");
    c.bench_function(
        "idempotency key: powertools_json(body).order_id + SHA-256",
        |b| {
            b.iter(|| {
                let selected = selection
                    .select(std::hint::black_box(&event))
                    .expect("the search succeeds")
                    .expect("the body holds an order id");
                hash_value(&selected)
            })
        },
    );
    // A plain path of field names: read from the event as it is, without JMESPath's
    // conversion of the whole event.
    let plain = Selection::jmespath("requestContext.requestId").expect("the expression compiles");
    c.bench_function(
        "idempotency key: requestContext.requestId (a plain path) + SHA-256",
        |b| {
            b.iter(|| {
                let selected = plain
                    .select(std::hint::black_box(&event))
                    .expect("the search succeeds")
                    .expect("the event holds a request id");
                hash_value(&selected)
            })
        },
    );
}

criterion_group!(idempotency_key, benchmarks);
criterion_main!(idempotency_key);
