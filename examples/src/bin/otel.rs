//! OpenTelemetry traces: the invocation as a SERVER span, a child span for one step, and
//! the trace passed on to a downstream call.
//!
//! ```sh
//! # Any OTLP/HTTP receiver; inside Lambda, the collector extension on localhost:4318.
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=orders \
//!     cargo run -p examples --features otel --bin otel -- --event '{"order_id":"o-1"}'
//! ```
//!
//! The spans leave after the answer, before the next invocation is asked for (locally:
//! before the process exits). With no receiver listening, the answer is the same and one
//! warning says the export failed.

use lambda_kit::Error;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

/// The event: which order to look up.
#[derive(Deserialize)]
struct Lookup {
    order_id: String,
}

/// The response: the order's state, and the `traceparent` a downstream call would carry.
#[derive(Serialize)]
struct OrderStatus {
    order_id: String,
    state: &'static str,
    downstream_traceparent: Option<String>,
}

/// Looks the order up; stands in for a database query.
async fn load(order_id: &str) -> &'static str {
    tracing::info!(order_id, "loading the order");
    "shipped"
}

#[lambda_kit::handler]
async fn order_status(event: Lookup) -> Result<OrderStatus, Error> {
    // A child span of the invocation span, with an attribute.
    let state = load(&event.order_id)
        .instrument(tracing::info_span!("load-order", order.id = %event.order_id))
        .await;
    // `traceparent` and `X-Amzn-Trace-Id` for a call to another service.
    let mut headers = http::HeaderMap::new();
    lambda_kit::otel::inject(&mut headers);
    let downstream_traceparent = headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok(OrderStatus {
        order_id: event.order_id,
        state,
        downstream_traceparent,
    })
}
