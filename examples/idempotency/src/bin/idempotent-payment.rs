//! A payment that is charged once per order, however often the event arrives.
//!
//! Event: `{"order_id": "o-1", "amount": 12.5, "delay_ms": 100}` (`delay_ms` optional).
//! The idempotency key is `order_id`; `amount` is validated, so a duplicate with another
//! amount fails with `Idempotency.Validation`, and a duplicate that arrives while the first
//! charge runs fails with `Idempotency.AlreadyInProgress`. Any other duplicate gets the
//! first response, `{"order_id", "amount", "charge_id"}`, without a second charge.
//!
//! Environment:
//! - `IDEMPOTENCY_STORE`: `memory` (default), `redis://HOST:PORT` or `dynamodb://TABLE`
//!   (region, credentials and `AWS_ENDPOINT_URL_DYNAMODB` as the AWS SDK reads them);
//! - `PAYMENT_LEDGER`: a file that gets one line `<order_id> <amount> <charge_id>` per
//!   real charge; the charge id is the request id of the charging invocation.

use std::io::Write as _;

use lambda_kit::{Context, Error, Runtime, handler_fn};
use lambda_kit_idempotency::store::{DynamoDbStore, RedisStore};
use lambda_kit_idempotency::{Idempotency, IdempotencyLayer, MemoryStore};
use serde::{Deserialize, Serialize};

/// The payment request.
#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    order_id: String,
    /// Kept as the caller wrote it, so the ledger and the receipt repeat it exactly.
    amount: serde_json::Number,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
}

/// What a charge answers, and every duplicate after it.
#[derive(Debug, Serialize, Deserialize)]
struct Receipt {
    order_id: String,
    amount: serde_json::Number,
    charge_id: String,
}

/// `IDEMPOTENCY_STORE` names no store this function knows.
#[derive(Debug, thiserror::Error)]
#[error("IDEMPOTENCY_STORE={0} is not memory, redis://HOST:PORT or dynamodb://TABLE")]
struct UnknownStore(String);

async fn charge(payment: Payment, ctx: Context) -> Result<Receipt, Error> {
    if let Some(delay) = payment.delay_ms {
        // Stands in for the card network's latency.
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let receipt = Receipt {
        order_id: payment.order_id,
        amount: payment.amount,
        charge_id: ctx.request_id().to_owned(),
    };
    if let Some(ledger) = std::env::var_os("PAYMENT_LEDGER") {
        let line = format!(
            "{} {} {}\n",
            receipt.order_id, receipt.amount, receipt.charge_id
        );
        // One write of one short line to an append-only file: lines from several processes
        // do not interleave.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ledger)?
            .write_all(line.as_bytes())?;
    }
    tracing::info!(order_id = %receipt.order_id, charge_id = %receipt.charge_id, "charged");
    Ok(receipt)
}

/// The idempotency settings on the store `IDEMPOTENCY_STORE` names.
async fn idempotency_from_env() -> Result<Idempotency, Error> {
    let store = std::env::var("IDEMPOTENCY_STORE").unwrap_or_else(|_| "memory".to_owned());
    let builder = if store == "memory" {
        Idempotency::builder(MemoryStore::new())
    } else if store.starts_with("redis://") || store.starts_with("rediss://") {
        Idempotency::builder(RedisStore::connect(&store).await?)
    } else if let Some(table) = store.strip_prefix("dynamodb://") {
        Idempotency::builder(DynamoDbStore::from_env(table).await)
    } else {
        return Err(UnknownStore(store).into());
    };
    let idempotency = builder
        .key_jmespath("order_id")
        .validation_jmespath("amount")
        .build()?;
    Ok(idempotency)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let runtime = Runtime::from_env()?;
    let idempotency = runtime.init(idempotency_from_env).await?.clone();
    runtime
        .layer(IdempotencyLayer::new(idempotency))
        .run_concurrent(handler_fn(charge))
        .await
}
