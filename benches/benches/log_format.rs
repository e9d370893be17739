//! One JSON log line inside an invocation: lambda-kit's log layer against
//! tracing-subscriber's own `fmt().json()`, both writing to `io::sink`.
//!
//! ```sh
//! cargo bench -p benches --bench log_format
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_kit::logging::Logging;
use lambda_kit::{Config, LogFormat};
use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;

/// Logs one event the way a handler does, inside an invocation span like the runtime's.
fn log_one_line() {
    let span = tracing::error_span!(
        target: "lambda_kit::runtime",
        "invocation",
        requestId = "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        xrayTraceId = "1-5759e988-bd862e3fe1be46a994272793",
        function_arn = "arn:aws:lambda:us-east-1:123456789012:function:orders",
        cold_start = false,
    );
    let _entered = span.enter();
    tracing::info!(
        order_id = 7,
        amount = 12.5,
        customer = "c-42",
        "charging the card"
    );
}

fn bench_with(c: &mut Criterion, name: &str, subscriber: impl Subscriber + Send + Sync + 'static) {
    tracing::subscriber::with_default(subscriber, || {
        c.bench_function(name, |b| b.iter(log_one_line));
    });
}

fn json_lines(c: &mut Criterion) {
    let config = Config::local_defaults();
    let ours = Logging::from_lookup(&config, |_| None)
        .format(LogFormat::Json)
        .tracing_layer_with_writer(std::io::sink);
    bench_with(
        c,
        "json line/lambda-kit",
        tracing_subscriber::registry().with(ours),
    );

    let theirs = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::sink);
    bench_with(
        c,
        "json line/tracing-subscriber fmt().json()",
        tracing_subscriber::registry().with(theirs),
    );
}

criterion_group!(benches, json_lines);
criterion_main!(benches);
