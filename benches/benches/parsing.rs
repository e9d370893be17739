//! Per-invocation parsing and encoding: a `/next` answer off the wire, its headers into a
//! `Context`, the X-Ray trace header, and one subsegment datagram.
//!
//! ```sh
//! cargo bench -p benches --bench parsing
//! ```

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use lambda_kit::__private::bench;
use lambda_kit::Config;
use lambda_kit::xray::TraceHeader;

const TRACE: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1";

/// The headers Lambda sends with an invocation.
fn next_headers() -> HeaderMap {
    let deadline = (std::time::SystemTime::now() + std::time::Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        headers.insert(
            name,
            HeaderValue::from_str(value).expect("a valid header value"),
        );
    };
    set(
        "lambda-runtime-aws-request-id",
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
    );
    set("lambda-runtime-deadline-ms", &deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:orders",
    );
    set("lambda-runtime-trace-id", TRACE);
    set("content-type", "application/json");
    headers
}

/// A whole `/next` answer as it arrives on the connection.
fn next_answer() -> Vec<u8> {
    let event = br#"{"order_id":"o-1","amount":1250}"#;
    let mut answer = b"HTTP/1.1 200 OK\r\n".to_vec();
    for (name, value) in &next_headers() {
        answer.extend_from_slice(name.as_str().as_bytes());
        answer.extend_from_slice(b": ");
        answer.extend_from_slice(value.as_bytes());
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"date: Mon, 23 Nov 2026 02:00:00 GMT\r\n");
    answer.extend_from_slice(format!("content-length: {}\r\n\r\n", event.len()).as_bytes());
    answer.extend_from_slice(event);
    answer
}

fn parsing(c: &mut Criterion) {
    let answer = next_answer();
    c.bench_function("next answer bytes -> status, headers, body", |b| {
        b.iter(|| bench::read_answer(std::hint::black_box(&answer)))
    });
    let headers = next_headers();
    let config = Arc::new(Config::local_defaults());
    c.bench_function("next headers -> Context", |b| {
        b.iter(|| bench::context_from_headers(std::hint::black_box(&headers), &config))
    });
    c.bench_function("trace header parse", |b| {
        b.iter(|| TraceHeader::parse(std::hint::black_box(TRACE)))
    });
    let header = TraceHeader::parse(TRACE).expect("valid");
    c.bench_function("trace header format", |b| {
        b.iter(|| std::hint::black_box(&header).to_string())
    });
    c.bench_function("x-ray subsegment datagram", |b| {
        b.iter(bench::xray_datagram)
    });
}

criterion_group!(benches, parsing);
criterion_main!(benches);
