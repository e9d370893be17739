//! An SQS consumer that reports partial batch failures: only the messages that failed are
//! retried (the event source mapping needs `ReportBatchItemFailures`).
//!
//! Each message body is an order, `{"order_id": "o-1", "amount": 12}`. An order without a
//! positive amount fails its message alone.

use lambda_kit::batch::{BatchProcessor, BatchResponse};
use lambda_kit::events::sqs::{SqsEvent, SqsMessage};
use lambda_kit::{Context, Error};
use serde::Deserialize;

/// One message's body.
#[derive(Deserialize)]
struct Order {
    order_id: String,
    amount: i64,
}

/// The order cannot be processed.
#[derive(Debug, thiserror::Error)]
#[error("order {order_id} has amount {amount}; amounts must be positive")]
struct InvalidAmount {
    order_id: String,
    amount: i64,
}

async fn process(message: SqsMessage) -> Result<(), Error> {
    let order: Order = serde_json::from_str(message.body.as_deref().unwrap_or_default())?;
    if order.amount <= 0 {
        return Err(InvalidAmount {
            order_id: order.order_id,
            amount: order.amount,
        }
        .into());
    }
    tracing::info!(order_id = %order.order_id, amount = order.amount, "order processed");
    Ok(())
}

#[lambda_kit::handler]
async fn orders(event: SqsEvent, _ctx: &Context) -> Result<BatchResponse, Error> {
    BatchProcessor::new()
        .concurrency(4)
        .sqs(event, process)
        .await
}
