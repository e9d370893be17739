//! Logs, an X-Ray subsegment with an annotation, and metrics, in one handler.
//!
//! ```sh
//! AWS_LAMBDA_LOG_FORMAT=JSON POWERTOOLS_SERVICE_NAME=checkout POWERTOOLS_METRICS_NAMESPACE=Shop \
//!     cargo run -p examples --bin observability -- \
//!     --event '{"order_id":"o-1","channel":"web","items":[{"sku":"apple","cents":30,"quantity":2}]}'
//! ```
//!
//! Log lines and the EMF document go to stderr locally (stdout holds the answer). In
//! Lambda, EMF goes to stdout, and the subsegment is sent to the X-Ray daemon when the
//! invocation is sampled.

use lambda_kit::metrics::{self, Unit};
use lambda_kit::{Context, Error};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

/// The event: an order with its line items.
#[derive(Deserialize)]
struct Order {
    order_id: String,
    channel: String,
    items: Vec<Item>,
}

/// One line item.
#[derive(Deserialize)]
struct Item {
    sku: String,
    cents: u64,
    quantity: u64,
}

/// The response: what the order costs.
#[derive(Serialize)]
struct Receipt {
    order_id: String,
    total_cents: u64,
}

/// Prices the order; traced as its own subsegment.
async fn price(items: &[Item]) -> u64 {
    for item in items {
        tracing::debug!(sku = %item.sku, quantity = item.quantity, "pricing");
    }
    items.iter().map(|item| item.cents * item.quantity).sum()
}

#[lambda_kit::handler]
async fn checkout(order: Order, _ctx: &Context) -> Result<Receipt, Error> {
    tracing::info!(order_id = %order.order_id, items = order.items.len(), "checking out");
    let span = tracing::info_span!(
        "price-order",
        xray = true,
        annotation.order_id = %order.order_id,
        metadata.items = order.items.len(),
    );
    let total_cents = price(&order.items).instrument(span).await;
    metrics::add_dimension("channel", &order.channel)?;
    metrics::add("Orders", Unit::Count, 1.0)?;
    metrics::add("OrderValueCents", Unit::None, total_cents as f64)?;
    tracing::info!(total_cents, "checked out");
    Ok(Receipt {
        order_id: order.order_id,
        total_cents,
    })
}
